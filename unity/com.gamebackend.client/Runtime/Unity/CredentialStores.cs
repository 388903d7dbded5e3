using System;
using System.Runtime.InteropServices;
using System.Text;
using UnityEngine;

namespace GameBackend.Unity
{
    /// <summary>Small strings in PlayerPrefs (one per key), saved at once. Main thread only, like PlayerPrefs.</summary>
    public sealed class PlayerPrefsStore : IKeyValueStore
    {
        public string Get(string key)
        {
            return PlayerPrefs.HasKey(key) ? PlayerPrefs.GetString(key) : null;
        }

        public void Set(string key, string value)
        {
            PlayerPrefs.SetString(key, value);
            PlayerPrefs.Save();
        }

        public void Delete(string key)
        {
            PlayerPrefs.DeleteKey(key);
            PlayerPrefs.Save();
        }
    }

    /// <summary>
    /// The default credential store of a Unity game. iOS players: the Keychain (Plugins/iOS). Android
    /// players from Android 6.0: AES-GCM under an Android Keystore key, in private SharedPreferences
    /// (Plugins/Android). Both take over a value an older version kept in PlayerPrefs, so the
    /// device keeps its account. Elsewhere (editor, desktop, WebGL, Android 5): PlayerPrefs, sealed
    /// with the platform's protection where the engine reaches one (Windows: DPAPI, bound to the
    /// Windows user). See the package README for what an attacker with the device's files can do on
    /// each platform; any other store plugs in through ICredentialStore.
    /// </summary>
    public static class UnityCredentialStore
    {
        public static ICredentialStore CreateDefault(string key = "gamebackend.credentials")
        {
            var native = NativeStore();
            if (native != null) return new KeyValueCredentialStore(new MigratingStore(native, new PlayerPrefsStore()), key, null);
            return new KeyValueCredentialStore(new PlayerPrefsStore(), key, PlatformProtector());
        }

        /// <summary>The platform's own secret store when this player has one (Keychain, Keystore); null elsewhere.</summary>
        public static IKeyValueStore NativeStore()
        {
#if UNITY_IOS && !UNITY_EDITOR
            return new KeychainStore();
#elif UNITY_ANDROID && !UNITY_EDITOR
            return AndroidKeystoreStore.Available() ? new AndroidKeystoreStore() : null;
#else
            return null;
#endif
        }

        /// <summary>The strongest protector available on this platform without a native plugin; null where there is none.</summary>
        public static ICredentialProtector PlatformProtector()
        {
#if UNITY_STANDALONE_WIN || UNITY_EDITOR_WIN
            return new DpapiProtector();
#else
            return null;
#endif
        }
    }

#if UNITY_STANDALONE_WIN || UNITY_EDITOR_WIN
    /// <summary>
    /// Windows' Data Protection API for the current user (CryptProtectData): the sealed value in the
    /// registry can be opened only by the same Windows user on the same machine.
    /// </summary>
    public sealed class DpapiProtector : ICredentialProtector
    {
        private const int UiForbidden = 0x1;

        [StructLayout(LayoutKind.Sequential)]
        private struct DataBlob
        {
            public int Size;
            public IntPtr Data;
        }

        [DllImport("crypt32.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        private static extern bool CryptProtectData(ref DataBlob input, string description, IntPtr entropy, IntPtr reserved, IntPtr prompt, int flags, out DataBlob output);

        [DllImport("crypt32.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        private static extern bool CryptUnprotectData(ref DataBlob input, IntPtr description, IntPtr entropy, IntPtr reserved, IntPtr prompt, int flags, out DataBlob output);

        [DllImport("kernel32.dll")]
        private static extern IntPtr LocalFree(IntPtr memory);

        public string Scheme
        {
            get { return "dpapi"; }
        }

        public string Protect(string plain)
        {
            return Convert.ToBase64String(Run(Encoding.UTF8.GetBytes(plain), true));
        }

        public string Unprotect(string stored)
        {
            return Encoding.UTF8.GetString(Run(Convert.FromBase64String(stored), false));
        }

        private static byte[] Run(byte[] input, bool protect)
        {
            var pinned = GCHandle.Alloc(input, GCHandleType.Pinned);
            try
            {
                var blob = new DataBlob { Size = input.Length, Data = pinned.AddrOfPinnedObject() };
                DataBlob output;
                var ok = protect
                    ? CryptProtectData(ref blob, "GameBackend", IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, UiForbidden, out output)
                    : CryptUnprotectData(ref blob, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, UiForbidden, out output);
                if (!ok) throw new InvalidOperationException("DPAPI refused: Windows error " + Marshal.GetLastWin32Error());
                try
                {
                    var bytes = new byte[output.Size];
                    Marshal.Copy(output.Data, bytes, 0, output.Size);
                    return bytes;
                }
                finally
                {
                    LocalFree(output.Data);
                }
            }
            finally
            {
                pinned.Free();
            }
        }
    }
#endif

#if UNITY_IOS && !UNITY_EDITOR
    /// <summary>
    /// The iOS Keychain (Plugins/iOS/GameBackendKeychain.mm): one generic-password item per key,
    /// accessible after the first unlock, this device only. Main thread, like every store here.
    /// </summary>
    public sealed class KeychainStore : IKeyValueStore
    {
        private const int NotFound = -25300;  // errSecItemNotFound
        private readonly string _service;

        public KeychainStore(string service = "com.gamebackend.client")
        {
            _service = service;
        }

        [DllImport("__Internal")] private static extern string GameBackendKeychain_Get(string service, string key, out int status);
        [DllImport("__Internal")] private static extern int GameBackendKeychain_Set(string service, string key, string value);
        [DllImport("__Internal")] private static extern int GameBackendKeychain_Delete(string service, string key);

        public string Get(string key)
        {
            int status;
            var value = GameBackendKeychain_Get(_service, key, out status);
            if (status == NotFound) return null;
            if (status != 0) throw new InvalidOperationException("the Keychain refused to read " + key + ": OSStatus " + status);
            return value;
        }

        public void Set(string key, string value)
        {
            var status = GameBackendKeychain_Set(_service, key, value);
            if (status != 0) throw new InvalidOperationException("the Keychain refused to keep " + key + ": OSStatus " + status);
        }

        public void Delete(string key)
        {
            var status = GameBackendKeychain_Delete(_service, key);
            if (status != 0) throw new InvalidOperationException("the Keychain refused to delete " + key + ": OSStatus " + status);
        }
    }
#endif

#if UNITY_ANDROID && !UNITY_EDITOR
    /// <summary>
    /// The Android Keystore (Plugins/Android/GameBackendKeystore.java): values sealed with AES-GCM
    /// under a Keystore key, kept in private SharedPreferences. Main thread (the JNI calls attach to it).
    /// A Java exception arrives as an AndroidJavaException.
    /// </summary>
    public sealed class AndroidKeystoreStore : IKeyValueStore
    {
        private const string Plugin = "com.gamebackend.client.GameBackendKeystore";

        /// <summary>Android 6.0 (API 23) or later: the Keystore has AES keys.</summary>
        public static bool Available()
        {
            using (var plugin = new AndroidJavaClass(Plugin))
            {
                return plugin.CallStatic<bool>("available");
            }
        }

        private static AndroidJavaObject Activity()
        {
            using (var player = new AndroidJavaClass("com.unity3d.player.UnityPlayer"))
            {
                return player.GetStatic<AndroidJavaObject>("currentActivity");
            }
        }

        public string Get(string key)
        {
            using (var plugin = new AndroidJavaClass(Plugin))
            using (var activity = Activity())
            {
                return plugin.CallStatic<string>("get", activity, key);
            }
        }

        public void Set(string key, string value)
        {
            using (var plugin = new AndroidJavaClass(Plugin))
            using (var activity = Activity())
            {
                plugin.CallStatic("set", activity, key, value);
            }
        }

        public void Delete(string key)
        {
            using (var plugin = new AndroidJavaClass(Plugin))
            using (var activity = Activity())
            {
                plugin.CallStatic("delete", activity, key);
            }
        }
    }
#endif
}

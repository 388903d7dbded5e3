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
    /// The default credential store of a Unity game: PlayerPrefs, sealed with the platform's
    /// protection where the engine can reach it without a native plugin (Windows: DPAPI, bound to
    /// the Windows user). See the package README for what an attacker with the device's files can
    /// do on each platform, and plug a Keychain/Keystore store in through ICredentialStore.
    /// </summary>
    public static class UnityCredentialStore
    {
        public static ICredentialStore CreateDefault(string key = "gamebackend.credentials")
        {
            return new KeyValueCredentialStore(new PlayerPrefsStore(), key, PlatformProtector());
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
}

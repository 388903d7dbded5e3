using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace GameBackend
{
    /// <summary>Small named strings kept on the device: the guest's credentials. PlayerPrefs in Unity, a file elsewhere.</summary>
    public interface IKeyValueStore
    {
        string Get(string key);
        void Set(string key, string value);
        void Delete(string key);
    }

    public sealed class MemoryStore : IKeyValueStore
    {
        private readonly Dictionary<string, string> _values = new Dictionary<string, string>();

        public string Get(string key)
        {
            lock (_values)
            {
                string value;
                return _values.TryGetValue(key, out value) ? value : null;
            }
        }

        public void Set(string key, string value)
        {
            lock (_values) _values[key] = value;
        }

        public void Delete(string key)
        {
            lock (_values) _values.Remove(key);
        }
    }

    /// <summary>
    /// A stronger store that takes over from an older one (the Keychain or Keystore after
    /// PlayerPrefs): a value found only in the old store is copied into the new one, then removed
    /// from the old, so a device that kept its guest before the upgrade keeps the same account.
    /// A crash between the two steps leaves the value in both, and the next read finishes the move.
    /// </summary>
    public sealed class MigratingStore : IKeyValueStore
    {
        private readonly IKeyValueStore _current;
        private readonly IKeyValueStore _previous;

        public MigratingStore(IKeyValueStore current, IKeyValueStore previous)
        {
            _current = current;
            _previous = previous;
        }

        public string Get(string key)
        {
            var value = _current.Get(key);
            var old = _previous.Get(key);
            if (value != null)
            {
                if (old != null) _previous.Delete(key);
                return value;
            }
            if (old == null) return null;
            _current.Set(key, old);
            _previous.Delete(key);
            return old;
        }

        public void Set(string key, string value)
        {
            _current.Set(key, value);
            if (_previous.Get(key) != null) _previous.Delete(key);
        }

        public void Delete(string key)
        {
            _current.Delete(key);
            _previous.Delete(key);
        }
    }

    /// <summary>Writes a whole file so that a crash leaves either the old content or the new, never a mix.</summary>
    public static class AtomicFile
    {
        public static void Write(string path, byte[] bytes)
        {
            var temp = path + ".tmp";
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                stream.Write(bytes, 0, bytes.Length);
                stream.Flush(true);
            }
            if (File.Exists(path))
            {
                File.Replace(temp, path, null);  // one rename: atomic on the same volume
            }
            else
            {
                File.Move(temp, path);
            }
        }
    }

    /// <summary>One file per key in a folder; each write is atomic (a temporary file, then one rename).</summary>
    public sealed class FileStore : IKeyValueStore
    {
        private readonly string _folder;
        private readonly object _lock = new object();

        public FileStore(string folder)
        {
            _folder = folder;
            Directory.CreateDirectory(folder);
        }

        private string PathOf(string key)
        {
            var safe = new StringBuilder();
            foreach (var c in key) safe.Append(char.IsLetterOrDigit(c) || c == '-' || c == '_' || c == '.' ? c : '_');
            return Path.Combine(_folder, safe + ".json");
        }

        public string Get(string key)
        {
            lock (_lock)
            {
                var path = PathOf(key);
                return File.Exists(path) ? File.ReadAllText(path, Encoding.UTF8) : null;
            }
        }

        public void Set(string key, string value)
        {
            lock (_lock)
            {
                var path = PathOf(key);
                AtomicFile.Write(path, Encoding.UTF8.GetBytes(value));
            }
        }

        public void Delete(string key)
        {
            lock (_lock)
            {
                var path = PathOf(key);
                if (File.Exists(path)) File.Delete(path);
            }
        }
    }
}

namespace GameBackend
{
    /// <summary>
    /// Where the device keeps the credentials that bring the same account back after a restart (a
    /// guest's username and password, or an upgraded account's refresh token). Swap in your own
    /// (a Keychain or Keystore plugin) with BackendClient's constructor.
    /// </summary>
    public interface ICredentialStore
    {
        StoredCredentials Load();
        void Save(StoredCredentials credentials);
        void Clear();
    }

    /// <summary>Turns the kept credentials into what is written on the device, and back.</summary>
    public interface ICredentialProtector
    {
        /// <summary>A short name written in front of the protected text ("dpapi", ...).</summary>
        string Scheme { get; }
        string Protect(string plain);
        string Unprotect(string stored);
    }

    /// <summary>
    /// Credentials as JSON in an IKeyValueStore, optionally sealed by an ICredentialProtector. A
    /// value written before a protector was set (plain JSON) is still read, and sealed on the next save.
    /// </summary>
    public sealed class KeyValueCredentialStore : ICredentialStore
    {
        private readonly IKeyValueStore _store;
        private readonly string _key;
        private readonly ICredentialProtector _protector;

        public KeyValueCredentialStore(IKeyValueStore store, string key = "gamebackend.credentials", ICredentialProtector protector = null)
        {
            _store = store;
            _key = key;
            _protector = protector;
        }

        /// <summary>Null when nothing is kept; throws InvalidDataException when something is kept but cannot be read.</summary>
        public StoredCredentials Load()
        {
            var stored = _store.Get(_key);
            if (string.IsNullOrEmpty(stored)) return null;
            try
            {
                var json = stored;
                if (!stored.StartsWith("{", StringComparison.Ordinal))
                {
                    if (_protector == null || !stored.StartsWith(_protector.Scheme + ":", StringComparison.Ordinal))
                    {
                        throw new InvalidDataException("sealed by a protector this store does not have");
                    }
                    json = _protector.Unprotect(stored.Substring(_protector.Scheme.Length + 1));
                }
                var credentials = Json.Deserialize<StoredCredentials>(json);
                if (credentials == null) throw new InvalidDataException("empty credentials");
                return credentials;
            }
            catch (Exception e)
            {
                // Another user's or machine's seal, a torn value: never treated as "no account here".
                throw new InvalidDataException("the credentials kept on this device cannot be read: " + e.Message, e);
            }
        }

        public void Save(StoredCredentials credentials)
        {
            var json = Json.Serialize(credentials);
            _store.Set(_key, _protector == null ? json : _protector.Scheme + ":" + _protector.Protect(json));
        }

        public void Clear()
        {
            _store.Delete(_key);
        }
    }
}

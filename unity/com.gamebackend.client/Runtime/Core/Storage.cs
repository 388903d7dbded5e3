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

    /// <summary>One file per key in a folder; each write goes to a temporary file first, then replaces the old one.</summary>
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
                var temp = path + ".tmp";
                File.WriteAllText(temp, value, Encoding.UTF8);
                if (File.Exists(path)) File.Delete(path);
                File.Move(temp, path);
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

using System.Collections.Generic;
using System.IO;
using System.Text;

namespace GameBackend
{
    /// <summary>
    /// Where the event queue lives: an append-only list of lines (one event, or one
    /// acknowledgement, per line) that can be rewritten whole, atomically, when compacted.
    /// </summary>
    public interface IEventJournal
    {
        List<string> ReadAll();
        /// <summary>Add one line at the end; the rest of the journal is not touched.</summary>
        void Append(string line);
        /// <summary>Replace the whole journal at once: a crash leaves the old one or the new one.</summary>
        void Rewrite(IList<string> lines);
    }

    public sealed class MemoryEventJournal : IEventJournal
    {
        private readonly List<string> _lines = new List<string>();
        public int Appends { get; private set; }
        public int Rewrites { get; private set; }

        public List<string> ReadAll()
        {
            lock (_lines) return new List<string>(_lines);
        }

        public void Append(string line)
        {
            lock (_lines)
            {
                _lines.Add(line);
                Appends++;
            }
        }

        public void Rewrite(IList<string> lines)
        {
            lock (_lines)
            {
                _lines.Clear();
                _lines.AddRange(lines);
                Rewrites++;
            }
        }
    }

    /// <summary>
    /// The journal as a UTF-8 file of JSON lines (under Application.persistentDataPath in Unity).
    /// Append writes one line and flushes it to the OS, so it survives the game crashing; a line
    /// torn by a crash mid-write is skipped when read. Rewrite goes through a temporary file and one rename.
    /// </summary>
    public sealed class FileEventJournal : IEventJournal
    {
        private static readonly Encoding Utf8 = new UTF8Encoding(false);
        private readonly string _path;
        private readonly object _lock = new object();

        public FileEventJournal(string path)
        {
            _path = path;
            var folder = Path.GetDirectoryName(path);
            if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
        }

        public string FilePath
        {
            get { return _path; }
        }

        public List<string> ReadAll()
        {
            lock (_lock)
            {
                var lines = new List<string>();
                if (!File.Exists(_path)) return lines;
                foreach (var line in File.ReadAllLines(_path, Utf8)) lines.Add(line);
                return lines;
            }
        }

        public void Append(string line)
        {
            var bytes = Utf8.GetBytes("\n" + line + "\n");
            lock (_lock)
            {
                using (var stream = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read))
                {
                    // A leading newline ends any line a crash left torn, so this one stays readable.
                    stream.Write(bytes, 0, bytes.Length);
                }
            }
        }

        public void Rewrite(IList<string> lines)
        {
            var text = new StringBuilder();
            foreach (var line in lines) text.Append(line).Append('\n');
            lock (_lock) AtomicFile.Write(_path, Utf8.GetBytes(text.ToString()));
        }
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace GameBackend
{
    /// <summary>A game event as sent: its id is made when the event is tracked, so a resent batch is counted once.</summary>
    [Preserve]
    public sealed class GameEvent
    {
        [Preserve] public string EventId;
        [Preserve] public string Type;
        /// <summary>When it happened on the client, Unix seconds (UTC).</summary>
        [Preserve] public double Timestamp;
        [Preserve] public string SessionId;
        [Preserve] public JObject Data;
    }

    [Preserve]
    public sealed class EventRejection
    {
        [Preserve] public int Index;
        [Preserve] public string Code;
        [Preserve] public string Message;
    }

    /// <summary>POST /events' answer (202): counts, and the events refused with their index in the batch.</summary>
    [Preserve]
    public sealed class EventBatchResult
    {
        [Preserve] public int Accepted;
        [Preserve] public int Duplicates;
        [Preserve] public List<EventRejection> Rejected = new List<EventRejection>();
        [Preserve, JsonExtensionData] public IDictionary<string, JToken> Extra;
    }

    /// <summary>One batch of events, as is; EventTracker adds the queue and the retries.</summary>
    public sealed class EventsApi
    {
        /// <summary>The largest batch this client sends (the server takes up to 25).</summary>
        public const int MaxBatch = 10;
        private readonly BackendClient _client;

        internal EventsApi(BackendClient client)
        {
            _client = client;
        }

        public Task<EventBatchResult> SendBatchAsync(IList<GameEvent> events, CancellationToken ct = default(CancellationToken))
        {
            if (events.Count == 0 || events.Count > 25) throw new ArgumentException("a batch holds 1 to 25 events");
            return _client.SendAsync<EventBatchResult>("POST", "/events", new EventBatchRequest { Events = events }, true, ct);
        }
    }

    [Preserve]
    public sealed class FlushResult
    {
        [Preserve] public int Sent;
        [Preserve] public int Accepted;
        [Preserve] public int Duplicates;
        [Preserve] public int Rejected;
        /// <summary>Requests made, retries included.</summary>
        [Preserve] public int Attempts;
        /// <summary>Events still queued (kept on disk) when the flush ended.</summary>
        [Preserve] public int Remaining;
        [Preserve] public List<TimeSpan> Waits = new List<TimeSpan>();
    }

    /// <summary>
    /// The event queue: Track() stamps an event with a new id and appends it to a journal (one
    /// line; the queue is never rewritten on Track). FlushAsync() sends batches of up to 10,
    /// retrying a failed batch with the same ids after an exponential backoff with full jitter
    /// (never less than the server's Retry-After), so a resent event is counted once. Sent events
    /// are appended to the journal as acknowledged; the journal is compacted (rewritten atomically)
    /// only during a flush. Events the server refuses are dropped and reported through
    /// EventRejected. While <see cref="SendingAllowed"/> is false (no consent yet) events are
    /// kept on the device and nothing is sent.
    /// </summary>
    public sealed class EventTracker
    {
        public const string DefaultFileName = "events.jsonl";
        private readonly BackendClient _client;
        private readonly IEventJournal _journal;
        private readonly List<GameEvent> _queue = new List<GameEvent>();
        private readonly SemaphoreSlim _flushing = new SemaphoreSlim(1, 1);
        private int _journalLines;

        public string SessionId { get; set; }
        public Backoff Backoff { get; private set; }
        public int BatchSize = EventsApi.MaxBatch;
        /// <summary>Oldest events are dropped beyond this many, so a device offline for days stays bounded.</summary>
        public int MaxQueued = 1000;
        /// <summary>The consent switch: false keeps events on the device and sends nothing until the game sets it.</summary>
        public bool SendingAllowed { get; set; }
        /// <summary>The journal is rewritten as the queue alone once it holds more lines than this (and twice the queue).</summary>
        public int CompactAfterLines = 200;
        /// <summary>Journal lines that could not be read when it was loaded (a line torn by a crash).</summary>
        public int SkippedLines { get; private set; }

        /// <summary>Raised for each event the server refused (invalid type, too old, ...); it is not retried.</summary>
        public event Action<GameEvent, EventRejection> EventRejected;

        public EventTracker(BackendClient client, IEventJournal journal, string sessionId = null, Backoff backoff = null, bool sendingAllowed = true)
        {
            _client = client;
            _journal = journal;
            SessionId = sessionId ?? Guid.NewGuid().ToString("N");
            Backoff = backoff ?? new Backoff();
            SendingAllowed = sendingAllowed;
            Load();
        }

        public int Pending
        {
            get { lock (_queue) return _queue.Count; }
        }

        /// <summary>Queue an event; answers its id. One line appended to the journal, kept until the server has counted it.</summary>
        public string Track(string type, IDictionary<string, object> data = null)
        {
            var now = _client.Time.UtcNow;
            var e = new GameEvent
            {
                EventId = Guid.NewGuid().ToString("N"),
                Type = type,
                Timestamp = Math.Round((now - new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc)).TotalSeconds, 3),
                SessionId = SessionId,
                Data = data == null ? new JObject() : JObject.FromObject(data),
            };
            var line = Json.Serialize(e);
            List<GameEvent> dropped = null;
            lock (_queue)
            {
                _queue.Add(e);
                _journal.Append(line);
                _journalLines++;
                if (_queue.Count > MaxQueued)
                {
                    dropped = _queue.GetRange(0, _queue.Count - MaxQueued);
                    _queue.RemoveRange(0, dropped.Count);
                }
            }
            if (dropped != null) Acknowledge(dropped);
            return e.EventId;
        }

        /// <summary>
        /// Send everything queued, batch by batch. A batch that fails for a transient reason (no
        /// response, 429, 5xx) is retried as is, up to <paramref name="maxAttempts"/> requests per
        /// batch; then the flush stops and the events stay queued for the next one. Sends nothing
        /// while SendingAllowed is false.
        /// </summary>
        public async Task<FlushResult> FlushAsync(int maxAttempts = 6, CancellationToken ct = default(CancellationToken))
        {
            var result = new FlushResult();
            await _flushing.WaitAsync(ct);
            try
            {
                while (SendingAllowed)
                {
                    List<GameEvent> batch;
                    lock (_queue) batch = _queue.Take(BatchSize).ToList();
                    if (batch.Count == 0) break;
                    if (!await SendWithRetriesAsync(batch, maxAttempts, result, ct)) break;
                }
                Compact();
            }
            finally
            {
                result.Remaining = Pending;
                _flushing.Release();
            }
            return result;
        }

        private async Task<bool> SendWithRetriesAsync(List<GameEvent> batch, int maxAttempts, FlushResult result, CancellationToken ct)
        {
            for (var attempt = 0; ; attempt++)
            {
                result.Attempts++;
                try
                {
                    var answer = await _client.Events.SendBatchAsync(batch, ct);
                    result.Sent += batch.Count;
                    result.Accepted += answer.Accepted;
                    result.Duplicates += answer.Duplicates;
                    foreach (var rejection in answer.Rejected ?? new List<EventRejection>())
                    {
                        result.Rejected++;
                        if (rejection.Index >= 0 && rejection.Index < batch.Count) Report(batch[rejection.Index], rejection);
                    }
                    Remove(batch);
                    return true;
                }
                catch (BackendException e)
                {
                    if (e is UnauthorizedException || e is ForbiddenException) return false;  // keep the events until signed in again
                    if (!e.IsTransient)
                    {
                        // The whole batch is refused (malformed, too large): resending cannot help.
                        for (var i = 0; i < batch.Count; i++)
                        {
                            result.Rejected++;
                            Report(batch[i], new EventRejection { Index = i, Code = e.Code, Message = e.Message });
                        }
                        Remove(batch);
                        return true;
                    }
                    if (attempt + 1 >= maxAttempts) return false;
                    var wait = Backoff.Next(attempt, e.RetryAfter);
                    result.Waits.Add(wait);
                    await _client.Time.Delay(wait, ct);
                }
            }
        }

        private void Report(GameEvent e, EventRejection rejection)
        {
            var handler = EventRejected;
            if (handler != null) handler(e, rejection);
        }

        private void Remove(List<GameEvent> sent)
        {
            var ids = new HashSet<string>(sent.Select(e => e.EventId));
            lock (_queue) _queue.RemoveAll(e => ids.Contains(e.EventId));
            Acknowledge(sent);
        }

        /// <summary>One appended line names the events that left the queue.</summary>
        private void Acknowledge(List<GameEvent> gone)
        {
            var line = Json.Serialize(new JournalAck { Sent = gone.Select(e => e.EventId).ToList() });
            lock (_queue)
            {
                _journal.Append(line);
                _journalLines++;
            }
        }

        /// <summary>Rewrite the journal as the queue alone once acknowledgements dominate it (during a flush, never on Track).</summary>
        private void Compact()
        {
            lock (_queue)
            {
                if (_journalLines <= Math.Max(CompactAfterLines, _queue.Count * 2)) return;
                _journal.Rewrite(_queue.Select(e => Json.Serialize(e)).ToList());
                _journalLines = _queue.Count;
            }
        }

        private void Load()
        {
            var byId = new Dictionary<string, GameEvent>();
            var order = new List<string>();
            var lines = _journal.ReadAll();
            foreach (var line in lines)
            {
                if (string.IsNullOrWhiteSpace(line)) continue;
                JObject record;
                try
                {
                    record = (JObject)Json.Parse(line);
                }
                catch (Exception)
                {
                    SkippedLines++;  // a line torn by a crash mid-append: the lines before it are whole
                    continue;
                }
                if (record["sent"] != null)
                {
                    foreach (var id in record["sent"]) byId.Remove((string)id);
                    continue;
                }
                var e = Json.Convert<GameEvent>(record);
                if (e == null || string.IsNullOrEmpty(e.EventId) || byId.ContainsKey(e.EventId)) continue;
                byId[e.EventId] = e;
                order.Add(e.EventId);
            }
            foreach (var id in order)
            {
                GameEvent e;
                if (byId.TryGetValue(id, out e)) _queue.Add(e);
            }
            if (_queue.Count > MaxQueued) _queue.RemoveRange(0, _queue.Count - MaxQueued);
            _journalLines = lines.Count(l => !string.IsNullOrWhiteSpace(l));
        }
    }

    /// <summary>A journal line acknowledging events that left the queue.</summary>
    [Preserve]
    public sealed class JournalAck
    {
        [Preserve] public List<string> Sent;
    }
}

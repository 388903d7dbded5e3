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
    public sealed class GameEvent
    {
        public string EventId;
        public string Type;
        /// <summary>When it happened on the client, Unix seconds (UTC).</summary>
        public double Timestamp;
        public string SessionId;
        public JObject Data;
    }

    public sealed class EventRejection
    {
        public int Index;
        public string Code;
        public string Message;
    }

    /// <summary>POST /events' answer (202): counts, and the events refused with their index in the batch.</summary>
    public sealed class EventBatchResult
    {
        public int Accepted;
        public int Duplicates;
        public List<EventRejection> Rejected = new List<EventRejection>();
        [JsonExtensionData] public IDictionary<string, JToken> Extra;
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
            return _client.SendAsync<EventBatchResult>("POST", "/events", new { events = events }, true, ct);
        }
    }

    public sealed class FlushResult
    {
        public int Sent;
        public int Accepted;
        public int Duplicates;
        public int Rejected;
        /// <summary>Requests made, retries included.</summary>
        public int Attempts;
        /// <summary>Events still queued (kept on disk) when the flush ended.</summary>
        public int Remaining;
        public List<TimeSpan> Waits = new List<TimeSpan>();
    }

    /// <summary>
    /// The event queue: Track() stamps an event with a new id and keeps it on disk; FlushAsync()
    /// sends batches of up to 10, retrying a failed batch with the same ids after an exponential
    /// backoff with jitter (never less than the server's Retry-After), so a resent event is
    /// counted once. Events the server refuses are dropped and reported through EventRejected.
    /// </summary>
    public sealed class EventTracker
    {
        public const string DefaultKey = "gamebackend.events";
        private readonly BackendClient _client;
        private readonly IKeyValueStore _store;
        private readonly string _key;
        private readonly List<GameEvent> _queue;
        private readonly SemaphoreSlim _flushing = new SemaphoreSlim(1, 1);

        public string SessionId { get; set; }
        public Backoff Backoff { get; private set; }
        public int BatchSize = EventsApi.MaxBatch;
        /// <summary>Oldest events are dropped beyond this many, so a device offline for days stays bounded.</summary>
        public int MaxQueued = 1000;

        /// <summary>Raised for each event the server refused (invalid type, too old, ...); it is not retried.</summary>
        public event Action<GameEvent, EventRejection> EventRejected;

        public EventTracker(BackendClient client, IKeyValueStore store, string sessionId = null, Backoff backoff = null, string key = DefaultKey)
        {
            _client = client;
            _store = store;
            _key = key;
            SessionId = sessionId ?? Guid.NewGuid().ToString("N");
            Backoff = backoff ?? new Backoff();
            _queue = Load();
        }

        public int Pending
        {
            get { lock (_queue) return _queue.Count; }
        }

        /// <summary>Queue an event; answers its id. Kept on disk until the server has counted it.</summary>
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
            lock (_queue)
            {
                _queue.Add(e);
                if (_queue.Count > MaxQueued) _queue.RemoveRange(0, _queue.Count - MaxQueued);
                Save();
            }
            return e.EventId;
        }

        /// <summary>
        /// Send everything queued, batch by batch. A batch that fails for a transient reason (no
        /// response, 429, 5xx) is retried as is, up to <paramref name="maxAttempts"/> requests per
        /// batch; then the flush stops and the events stay queued for the next one.
        /// </summary>
        public async Task<FlushResult> FlushAsync(int maxAttempts = 6, CancellationToken ct = default(CancellationToken))
        {
            var result = new FlushResult();
            await _flushing.WaitAsync(ct);
            try
            {
                while (true)
                {
                    List<GameEvent> batch;
                    lock (_queue) batch = _queue.Take(BatchSize).ToList();
                    if (batch.Count == 0) break;
                    if (!await SendWithRetriesAsync(batch, maxAttempts, result, ct)) break;
                }
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
                    if (e is UnauthorizedException) return false;  // keep the events until signed in again
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
            lock (_queue)
            {
                _queue.RemoveAll(e => ids.Contains(e.EventId));
                Save();
            }
        }

        private List<GameEvent> Load()
        {
            var json = _store.Get(_key);
            if (string.IsNullOrEmpty(json)) return new List<GameEvent>();
            try
            {
                return Json.Deserialize<List<GameEvent>>(json) ?? new List<GameEvent>();
            }
            catch (Exception)
            {
                return new List<GameEvent>();  // a torn file: start over rather than crash the game
            }
        }

        private void Save()
        {
            _store.Set(_key, Json.Serialize(_queue));
        }
    }
}

using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;

namespace GameBackend
{
    public sealed class PushFeedOptions
    {
        /// <summary>While the socket is down, or when there is none: read the inbox this often.</summary>
        public TimeSpan PollInterval = TimeSpan.FromSeconds(20);
        /// <summary>Unread notifications read per inbox poll (1 to 100).</summary>
        public int PollLimit = 20;
    }

    public enum PushMode
    {
        Stopped,
        /// <summary>Waiting for the socket's first connection (a failure turns it to Polling).</summary>
        Connecting,
        /// <summary>No socket, or it is down: the inbox is read every PollInterval.</summary>
        Polling,
        /// <summary>The socket is up: the server pushes, nothing is polled.</summary>
        Pushing,
    }

    /// <summary>
    /// What the server has to tell the game, however it arrives: matches found, achievement
    /// unlocks, leaderboard periods closed, ticket timeouts and other notifications. While the
    /// realtime connection is up they come as pushes and nothing is polled; while it is down (or
    /// when there is no socket at all) the unread inbox is read every PollInterval, and once more
    /// on each new connection, since a push may have been missed in between. A notification is
    /// raised once, whether it came pushed, polled or both. Notifications already unread when the
    /// feed starts are not raised: the game lists the inbox itself.
    ///
    /// Start it from the main thread once signed in: every event is raised where the awaits
    /// resume, on Unity's main thread. An exception thrown by a handler goes to OnError and
    /// does not stop the feed. A refused account (banned, deleted, sign-in required) stops it;
    /// run it again after the game has signed in again.
    /// </summary>
    public sealed class PushFeed
    {
        private const int SeenKept = 512;
        private const string AchievementPrefix = "Achievement unlocked: ";

        private readonly BackendClient _client;
        private readonly PushFeedOptions _options;
        private readonly HashSet<string> _seen = new HashSet<string>();
        private readonly Queue<string> _seenOrder = new Queue<string>();
        private readonly Task<bool> _never = new TaskCompletionSource<bool>().Task;
        private CancellationTokenSource _stop;
        private bool _baseline;
        private PushMode _mode = PushMode.Stopped;

        /// <summary>The socket, or null when the game has none (polling only).</summary>
        public RealtimeConnection Realtime { get; private set; }

        public event Action<MatchFound> OnMatchFound;
        public event Action<Notification> OnNotification;
        public event Action<AchievementUnlocked> OnAchievementUnlocked;
        public event Action<TicketTimedOut> OnTicketTimedOut;
        public event Action<PeriodClosed> OnPeriodClosed;
        public event Action<PushMode> ModeChanged;
        /// <summary>After each inbox read, with its page (UnreadCount makes a badge), before its events.</summary>
        public event Action<NotificationPage> OnInboxRead;
        /// <summary>A failed inbox read, or an exception thrown by one of the game's handlers.</summary>
        public event Action<Exception> OnError;

        public PushFeed(BackendClient client, RealtimeConnection realtime, PushFeedOptions options = null)
        {
            _client = client;
            _options = options ?? new PushFeedOptions();
            Realtime = realtime;
            if (realtime == null) return;
            realtime.OnMatchFound += match =>
            {
                if (Fresh(match.NotificationId)) Raise(OnMatchFound, match);
            };
            realtime.OnAchievementUnlocked += unlock =>
            {
                if (Fresh(unlock.NotificationId)) Raise(OnAchievementUnlocked, unlock);
            };
            realtime.OnPeriodClosed += period =>
            {
                if (Fresh(period.NotificationId)) Raise(OnPeriodClosed, period);
            };
            realtime.OnNotification += note =>
            {
                if (Fresh(note.Id)) Raise(OnNotification, note);
            };
            realtime.OnTicketTimedOut += timedOut => Raise(OnTicketTimedOut, timedOut);
        }

        public PushMode Mode
        {
            get { return _mode; }
        }

        public bool IsRunning
        {
            get { return _stop != null; }
        }

        /// <summary>Stop was called and the run has not ended yet (the socket is closing).</summary>
        public bool IsStopping
        {
            get { return _stop != null && _stop.IsCancellationRequested; }
        }

        /// <summary>How many times the inbox has been read.</summary>
        public int InboxReads { get; private set; }

        /// <summary>Run the socket (when there is one) and the polling fallback until Stop, the token, or a refused account.</summary>
        public async Task RunAsync(CancellationToken ct = default(CancellationToken))
        {
            if (_stop != null) throw new InvalidOperationException("already running");
            var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            _stop = stop;
            var token = stop.Token;
            Task socket = null;
            if (Realtime != null && (Realtime.State == RealtimeState.Stopped || Realtime.State == RealtimeState.Refused))
            {
                socket = Realtime.RunAsync(token);
            }
            var stopped = new TaskCompletionSource<bool>();
            using (token.Register(() => stopped.TrySetResult(true)))
            {
                try
                {
                    await LoopAsync(token, stopped.Task);
                }
                finally
                {
                    stop.Cancel();
                    if (socket != null)
                    {
                        try
                        {
                            await socket;
                        }
                        catch (Exception)
                        {
                            // the socket ends with the feed
                        }
                    }
                    _stop = null;
                    stop.Dispose();
                    SetMode(PushMode.Stopped);
                }
            }
        }

        public void Stop()
        {
            if (_stop != null) _stop.Cancel();
        }

        private async Task LoopAsync(CancellationToken token, Task stopped)
        {
            var readOnConnection = -1;
            while (!token.IsCancellationRequested)
            {
                var change = Realtime != null ? (Task)Realtime.NextStateChange : _never;
                if (Realtime != null && Realtime.State == RealtimeState.Connecting)
                {
                    // The first attempt: its outcome decides between pushes and polling.
                    SetMode(PushMode.Connecting);
                    await Task.WhenAny(change, stopped);
                    continue;
                }
                var pushing = Realtime != null && Realtime.IsConnected;
                SetMode(pushing ? PushMode.Pushing : PushMode.Polling);
                if (pushing && Realtime.Connections == readOnConnection)
                {
                    // Up, and the inbox was read since it came up: the server pushes. No request.
                    await Task.WhenAny(change, stopped);
                    continue;
                }
                var connection = pushing ? Realtime.Connections : -1;
                try
                {
                    await ReadInboxAsync(token);
                    if (connection >= 0)
                    {
                        readOnConnection = connection;
                        continue;
                    }
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    Report(e);
                    var state = _client.State;
                    if (state == AuthState.Banned || state == AuthState.Deleted || state == AuthState.SignInRequired || state == AuthState.SignedOut) return;
                }
                // Down (or the read failed): wait for the next poll, or for the socket to change.
                using (var wait = CancellationTokenSource.CreateLinkedTokenSource(token))
                {
                    var delay = _client.Time.Delay(_options.PollInterval, wait.Token);
                    await Task.WhenAny(delay, change, stopped);
                    wait.Cancel();
                    try
                    {
                        await delay;
                    }
                    catch (OperationCanceledException)
                    {
                        // cut short by the socket or by Stop
                    }
                }
            }
        }

        private async Task ReadInboxAsync(CancellationToken ct)
        {
            var page = await _client.Notifications.ListAsync(_options.PollLimit, null, true, ct);
            InboxReads++;
            Raise(OnInboxRead, page);
            var first = !_baseline;
            _baseline = true;
            // Newest first: raise the oldest first.
            for (var i = page.Notifications.Count - 1; i >= 0; i--)
            {
                var note = page.Notifications[i];
                if (!Fresh(note.Id) || first) continue;
                FromInbox(note);
            }
        }

        /// <summary>An inbox notification raised as the typed event its push would have been.</summary>
        private void FromInbox(Notification note)
        {
            var data = note.Data ?? new JObject();
            switch (note.Kind)
            {
                case "match_found":
                    var match = Json.Convert<MatchFound>(data);
                    match.NotificationId = note.Id;
                    Raise(OnMatchFound, match);
                    break;
                case "achievement_unlocked":
                    var unlock = Json.Convert<AchievementUnlocked>(data);
                    var title = note.Title ?? "";
                    unlock.Title = title.StartsWith(AchievementPrefix, StringComparison.Ordinal) ? title.Substring(AchievementPrefix.Length) : title;
                    if (unlock.Description == null) unlock.Description = note.Body;
                    unlock.NotificationId = note.Id;
                    Raise(OnAchievementUnlocked, unlock);
                    break;
                case "leaderboard_period_ended":
                    var period = Json.Convert<PeriodClosed>(data);
                    period.NotificationId = note.Id;
                    Raise(OnPeriodClosed, period);
                    break;
                default:
                    Raise(OnNotification, note);
                    break;
            }
        }

        /// <summary>True the first time a notification id is seen (a null id always).</summary>
        private bool Fresh(string notificationId)
        {
            if (notificationId == null) return true;
            if (!_seen.Add(notificationId)) return false;
            _seenOrder.Enqueue(notificationId);
            if (_seenOrder.Count > SeenKept) _seen.Remove(_seenOrder.Dequeue());
            return true;
        }

        private void Raise<T>(Action<T> handler, T value)
        {
            if (handler == null) return;
            try
            {
                handler(value);
            }
            catch (Exception e)
            {
                Report(e);
            }
        }

        private void Report(Exception error)
        {
            var handler = OnError;
            if (handler != null) handler(error);
        }

        private void SetMode(PushMode mode)
        {
            if (_mode == mode) return;
            _mode = mode;
            Raise(ModeChanged, mode);
        }
    }
}

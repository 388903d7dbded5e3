using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using UnityEngine;

namespace GameBackend.Unity
{
    /// <summary>
    /// The scene component: builds the client from a GameBackendSettings asset (UnityWebRequest
    /// transport, the platform's credential store, the player-loop clock, an event journal on
    /// disk; one client per running game, shared by every manager), signs in as this device's
    /// account (single-flight: any other SignIn joins it), sends
    /// queued events every few seconds, and offers coroutine wrappers in the seed's style
    /// (UpdatePlayerStats, GetLeaderboard, TrackGameEvent, ...). Every wrapper takes an optional
    /// CancellationToken; all of them are cancelled when the component is destroyed, and a
    /// cancelled match search also cancels its ticket on the server.
    ///
    /// Once signed in it runs the game's PushFeed: the realtime WebSocket (reconnecting with
    /// backoff) raises OnMatchFound, OnNotification, OnAchievementUnlocked, OnPeriodClosed and
    /// OnTicketTimedOut on the main thread; while the socket is down, or where there is none,
    /// the inbox is polled and the same events are raised from it. FindMatch waits on the push
    /// and polls the ticket only while the socket is down.
    /// </summary>
    [DisallowMultipleComponent]
    [AddComponentMenu("Game Backend/Game Backend Manager")]
    public class GameBackendManager : MonoBehaviour
    {
        [Tooltip("Environments, URLs, retries; without one the manager talks to the local backend (http://127.0.0.1:8000)")]
        [SerializeField] private GameBackendSettings settings;
        [SerializeField] private bool signInOnStart = true;
        [SerializeField] private string guestDisplayName = "";
        [Tooltip("Start the pushes (WebSocket, or inbox polling without one) once signed in")]
        [SerializeField] private bool pushesOnSignIn = true;

        private readonly CancellationTokenSource _lifetime = new CancellationTokenSource();
        private Action<AuthState> _forwardState;

        // One client and one event queue per running game, whatever the number of managers (one per
        // scene, a prefab placed twice): two clients on one device would sign in twice and make two guests.
        private static BackendClient _sharedClient;
        private static EventTracker _sharedEvents;
        private static PushFeed _sharedPushes;
        private static int _liveManagers;

        [RuntimeInitializeOnLoadMethod(RuntimeInitializeLoadType.SubsystemRegistration)]
        private static void ResetShared()
        {
            // Entering play mode without a domain reload starts a new game.
            _sharedClient = null;
            _sharedEvents = null;
            _sharedPushes = null;
            _liveManagers = 0;
        }

        public BackendClient Client { get; private set; }
        public EventTracker Events { get; private set; }
        /// <summary>The pushes, shared by every manager; Pushes.Realtime is null when the settings give no WebSocket URL.</summary>
        public PushFeed Pushes { get; private set; }
        public GameBackendSettings Settings
        {
            get { return settings; }
        }

        /// <summary>Every failure a wrapper handed to its callback as false/null, typed (BackendException.Code). Cancellations are not errors.</summary>
        public event Action<Exception> OnError;

        /// <summary>SignedIn, SignInRequired (show the sign-in screen), Banned, Deleted, ...</summary>
        public event Action<AuthState> OnAuthStateChanged;

        /// <summary>A match for one of this player's tickets (pushed, or from the inbox while the socket is down).</summary>
        public event Action<MatchFound> OnMatchFound;
        /// <summary>An inbox notification that has no typed event of its own (gifts, admin messages, ...).</summary>
        public event Action<Notification> OnNotification;
        public event Action<AchievementUnlocked> OnAchievementUnlocked;
        public event Action<PeriodClosed> OnPeriodClosed;
        public event Action<TicketTimedOut> OnTicketTimedOut;
        /// <summary>Connecting, Pushing (socket up), Polling (socket down or missing), Stopped.</summary>
        public event Action<PushMode> OnPushModeChanged;

        /// <summary>Cancelled when this component is destroyed.</summary>
        public CancellationToken DestroyToken
        {
            get { return _lifetime.Token; }
        }

        private void Awake()
        {
            if (settings == null) settings = ScriptableObject.CreateInstance<GameBackendSettings>();
            if (_sharedClient == null)
            {
                _sharedClient = new BackendClient(settings.ToOptions(), new UnityWebRequestTransport(), UnityCredentialStore.CreateDefault(), PlayerLoopTime.Instance);
                var journal = new FileEventJournal(Path.Combine(Path.Combine(Application.persistentDataPath, "gamebackend"), EventTracker.DefaultFileName));
                _sharedEvents = new EventTracker(_sharedClient, journal, null, null, !settings.eventsWaitForConsent);
                _sharedEvents.EventRejected += (e, why) => Debug.LogWarning("event " + e.Type + " refused: " + why.Code + " " + why.Message);
                var realtime = settings.ToRealtimeOptions();
                _sharedPushes = new PushFeed(_sharedClient, realtime == null ? null : new RealtimeConnection(_sharedClient, realtime), settings.ToPushFeedOptions());
            }
            else if (_sharedClient.Options.BaseUrl != settings.ActiveUrl)
            {
                Debug.LogWarning("game backend: another GameBackendManager already talks to " + _sharedClient.Options.BaseUrl + "; this one shares its client");
            }
            Client = _sharedClient;
            Events = _sharedEvents;
            Pushes = _sharedPushes;
            _liveManagers++;
            _forwardState = state =>
            {
                var handler = OnAuthStateChanged;
                if (handler != null) handler(state);
                // Signed in again after SignInRequired (or a first sign-in by the game): pushes resume.
                if (state == AuthState.SignedIn && pushesOnSignIn && isActiveAndEnabled) StartPushes();
            };
            Client.AuthStateChanged += _forwardState;
            Pushes.OnMatchFound += ForwardMatchFound;
            Pushes.OnNotification += ForwardNotification;
            Pushes.OnAchievementUnlocked += ForwardAchievementUnlocked;
            Pushes.OnPeriodClosed += ForwardPeriodClosed;
            Pushes.OnTicketTimedOut += ForwardTicketTimedOut;
            Pushes.ModeChanged += ForwardPushMode;
            Pushes.OnError += Report;
        }

        private void ForwardMatchFound(MatchFound match)
        {
            var handler = OnMatchFound;
            if (handler != null) handler(match);
        }

        private void ForwardNotification(Notification note)
        {
            var handler = OnNotification;
            if (handler != null) handler(note);
        }

        private void ForwardAchievementUnlocked(AchievementUnlocked unlock)
        {
            var handler = OnAchievementUnlocked;
            if (handler != null) handler(unlock);
        }

        private void ForwardPeriodClosed(PeriodClosed period)
        {
            var handler = OnPeriodClosed;
            if (handler != null) handler(period);
        }

        private void ForwardTicketTimedOut(TicketTimedOut timedOut)
        {
            var handler = OnTicketTimedOut;
            if (handler != null) handler(timedOut);
        }

        private void ForwardPushMode(PushMode mode)
        {
            var handler = OnPushModeChanged;
            if (handler != null) handler(mode);
        }

        private void Start()
        {
            if (signInOnStart) StartCoroutine(SignIn(null));
            else if (pushesOnSignIn && Client.IsSignedIn) StartPushes();
            StartCoroutine(ProcessEventQueue());
        }

        private void OnDisable()
        {
            _startingPushes = false;  // its coroutine stopped with the component
        }

        private void OnDestroy()
        {
            _lifetime.Cancel();
            if (Client != null) Client.AuthStateChanged -= _forwardState;
            if (Pushes == null) return;
            Pushes.OnMatchFound -= ForwardMatchFound;
            Pushes.OnNotification -= ForwardNotification;
            Pushes.OnAchievementUnlocked -= ForwardAchievementUnlocked;
            Pushes.OnPeriodClosed -= ForwardPeriodClosed;
            Pushes.OnTicketTimedOut -= ForwardTicketTimedOut;
            Pushes.ModeChanged -= ForwardPushMode;
            Pushes.OnError -= Report;
            // The last manager of the game gone: close the socket.
            if (--_liveManagers == 0) Pushes.Stop();
        }

        /// <summary>
        /// Run the pushes (once signed in; the manager does it by itself unless pushesOnSignIn is
        /// off). Called from the main thread, so every push event is raised there. Does nothing
        /// while they run already.
        /// </summary>
        public void StartPushes()
        {
            if ((Pushes.IsRunning && !Pushes.IsStopping) || !Client.IsSignedIn || _startingPushes) return;
            StartCoroutine(RunPushes());
        }

        /// <summary>Close the socket and stop polling (StartPushes starts them again).</summary>
        public void StopPushes()
        {
            Pushes.Stop();
        }

        private bool _startingPushes;

        private IEnumerator RunPushes()
        {
            _startingPushes = true;
            while (Pushes.IsStopping) yield return null;  // a Stop just before: let that run end first
            _startingPushes = false;
            if (Pushes.IsRunning || !Client.IsSignedIn) yield break;
            // Started here, on the main thread; it runs on (it is the game's, shared by every
            // manager) until StopPushes, the last manager's OnDestroy or a refused account.
            yield return Await(RunFeed(Pushes), null, Report);
        }

        private static async Task<bool> RunFeed(PushFeed feed)
        {
            await feed.RunAsync();
            return true;
        }

        /// <summary>The consent switch for analytics: events are kept on the device until it is on.</summary>
        public void AllowEventSending(bool allowed)
        {
            Events.SendingAllowed = allowed;
        }

        // ---- helpers ----

        /// <summary>Wait for a task inside a coroutine (one frame at a time: no thread), then hand its result or its exception over.</summary>
        public static IEnumerator Await<T>(Task<T> task, Action<T> done, Action<Exception> failed)
        {
            while (!task.IsCompleted) yield return null;
            if (task.IsFaulted || task.IsCanceled)
            {
                var error = task.Exception != null ? task.Exception.GetBaseException() : new OperationCanceledException();
                if (failed != null) failed(error);
            }
            else if (done != null)
            {
                done(task.Result);
            }
        }

        private CancellationTokenSource Link(CancellationToken ct)
        {
            return CancellationTokenSource.CreateLinkedTokenSource(_lifetime.Token, ct);
        }

        private void Report(Exception error)
        {
            if (error is OperationCanceledException) return;
            Debug.LogWarning("game backend: " + error.Message);
            var handler = OnError;
            if (handler != null) handler(error);
        }

        // ---- coroutine wrappers ----

        /// <summary>Sign in as this device's account; joins a sign-in already running. False on failure: see OnAuthStateChanged for why.</summary>
        public IEnumerator SignIn(Action<bool> callback, CancellationToken ct = default(CancellationToken))
        {
            var name = string.IsNullOrEmpty(guestDisplayName) ? null : guestDisplayName;
            using (var link = Link(ct))
            {
                yield return Await(Client.SignInAsGuestAsync(name, link.Token),
                    id =>
                    {
                        if (pushesOnSignIn) StartPushes();
                        if (callback != null) callback(true);
                    },
                    e => { Report(e); if (callback != null) callback(false); });
            }
        }

        /// <summary>The seed's call: each value is applied by its stat's declared aggregation (sum stats add, max keeps the best, ...).</summary>
        public IEnumerator UpdatePlayerStats(Dictionary<string, object> stats, Action<bool> callback, CancellationToken ct = default(CancellationToken))
        {
            var updates = new Dictionary<string, double>();
            foreach (var stat in stats) updates[stat.Key] = Convert.ToDouble(stat.Value, System.Globalization.CultureInfo.InvariantCulture);
            using (var link = Link(ct))
            {
                yield return Await(Client.Stats.UpdateAsync(updates, link.Token),
                    view => { if (callback != null) callback(true); },
                    e => { Report(e); if (callback != null) callback(false); });
            }
        }

        public IEnumerator GetPlayerStats(Action<PlayerStats> callback, CancellationToken ct = default(CancellationToken))
        {
            using (var link = Link(ct))
            {
                yield return Await(Client.Stats.GetAsync(link.Token), callback, e => { Report(e); if (callback != null) callback(null); });
            }
        }

        /// <summary>The seed's call: the board's top entries (empty on failure).</summary>
        public IEnumerator GetLeaderboard(string leaderboardType, int limit, Action<List<LeaderboardEntry>> callback, CancellationToken ct = default(CancellationToken))
        {
            using (var link = Link(ct))
            {
                yield return Await(Client.Leaderboards.GetTopAsync(leaderboardType, limit, null, null, link.Token),
                    page => callback(page.Entries),
                    e => { Report(e); callback(new List<LeaderboardEntry>()); });
            }
        }

        public IEnumerator GetMyRank(string board, int around, Action<LeaderboardStanding> callback, CancellationToken ct = default(CancellationToken))
        {
            using (var link = Link(ct))
            {
                yield return Await(Client.Leaderboards.GetMeAsync(board, around, null, link.Token), callback, e => { Report(e); callback(null); });
            }
        }

        public IEnumerator SubmitScore(string board, double score, Action<ScoreSubmitted> callback, CancellationToken ct = default(CancellationToken))
        {
            using (var link = Link(ct))
            {
                yield return Await(Client.Leaderboards.SubmitScoreAsync(board, score, link.Token), callback, e => { Report(e); if (callback != null) callback(null); });
            }
        }

        public IEnumerator GetAchievements(Action<AchievementList> callback, CancellationToken ct = default(CancellationToken))
        {
            using (var link = Link(ct))
            {
                yield return Await(Client.Achievements.ListAsync(link.Token), callback, e => { Report(e); callback(null); });
            }
        }

        /// <summary>
        /// Queue up and wait until matched, timed out or cancelled: on the push while the socket is
        /// up, polling with backoff while it is down (or without one). Cancel
        /// <paramref name="ct"/> (or destroy this component) to stop: polling stops and the ticket
        /// is cancelled on the server; the callback then gets null.
        /// </summary>
        public IEnumerator FindMatch(string queue, string region, Action<MatchTicket> callback, CancellationToken ct = default(CancellationToken))
        {
            using (var link = Link(ct))
            {
                // With a socket: the push tells, and the ticket is polled only while the socket is down.
                var realtime = Pushes.Realtime;
                var search = realtime != null
                    ? Client.Matchmaking.FindMatchAsync(queue, region, realtime, null, link.Token)
                    : Client.Matchmaking.FindMatchAsync(queue, region, (PollOptions)null, link.Token);
                yield return Await(search, callback, e => { Report(e); callback(null); });
            }
        }

        /// <summary>Save a slot; on a conflict the callback gets the SaveConflictException with the server's version.</summary>
        public IEnumerator SaveProgress(string slot, object data, long expectedVersion, Action<SaveSlotInfo, SaveConflictException> callback, CancellationToken ct = default(CancellationToken))
        {
            using (var link = Link(ct))
            {
                yield return Await(Client.Saves.PutAsync(slot, data, expectedVersion, link.Token),
                    saved => callback(saved, null),
                    e =>
                    {
                        var conflict = e as SaveConflictException;
                        if (conflict == null) Report(e);
                        callback(null, conflict);
                    });
            }
        }

        public IEnumerator LoadProgress(string slot, Action<SaveData> callback, CancellationToken ct = default(CancellationToken))
        {
            using (var link = Link(ct))
            {
                yield return Await(Client.Saves.GetAsync(slot, link.Token), callback, e =>
                {
                    if (!(e is NotFoundException)) Report(e);
                    callback(null);
                });
            }
        }

        public IEnumerator GetNotifications(bool unreadOnly, Action<NotificationPage> callback, CancellationToken ct = default(CancellationToken))
        {
            using (var link = Link(ct))
            {
                yield return Await(Client.Notifications.ListAsync(20, null, unreadOnly, link.Token), callback, e => { Report(e); callback(null); });
            }
        }

        /// <summary>The seed's call: queue an event (one line appended on disk, sent in batches of up to 10, counted once).</summary>
        public void TrackGameEvent(string eventType, Dictionary<string, object> eventData)
        {
            Events.Track(eventType, eventData);
        }

        private IEnumerator ProcessEventQueue()
        {
            var wait = new WaitForSeconds(settings.eventFlushSeconds);
            while (true)
            {
                if (Client.IsSignedIn && Events.SendingAllowed && Events.Pending > 0)
                {
                    yield return Await(Events.FlushAsync(6, _lifetime.Token), null, Report);
                }
                yield return wait;
            }
        }
    }
}

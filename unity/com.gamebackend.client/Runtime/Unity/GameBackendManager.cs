using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Threading.Tasks;
using UnityEngine;

namespace GameBackend.Unity
{
    /// <summary>
    /// The scene component: builds the client (UnityWebRequest transport, PlayerPrefs credentials,
    /// an event queue on disk), signs in as this device's guest, flushes events every second, and
    /// offers coroutine wrappers in the seed's style (UpdatePlayerStats, GetLeaderboard, TrackGameEvent, ...).
    /// </summary>
    [DisallowMultipleComponent]
    public class GameBackendManager : MonoBehaviour
    {
        [Header("Backend")]
        [Tooltip("The API's base URL; `make run` serves http://127.0.0.1:8000")]
        [SerializeField] private string apiBaseUrl = "http://127.0.0.1:8000";
        [SerializeField] private int timeoutSeconds = 30;
        [SerializeField] private bool signInOnStart = true;
        [SerializeField] private string guestDisplayName = "";
        [Header("Events")]
        [SerializeField] private float eventFlushSeconds = 1f;

        public BackendClient Client { get; private set; }
        public EventTracker Events { get; private set; }

        /// <summary>Every failure a wrapper swallowed for its bool/empty callback, typed (BackendException.Code).</summary>
        public event Action<Exception> OnError;

        private void Awake()
        {
            var options = new BackendOptions { BaseUrl = apiBaseUrl, TimeoutSeconds = timeoutSeconds };
            Client = new BackendClient(options, new UnityWebRequestTransport(), new PlayerPrefsStore());
            var queueFolder = Path.Combine(Application.persistentDataPath, "gamebackend");
            Events = new EventTracker(Client, new FileStore(queueFolder));
            Events.EventRejected += (e, why) => Debug.LogWarning("event " + e.Type + " refused: " + why.Code + " " + why.Message);
        }

        private void Start()
        {
            if (signInOnStart) StartCoroutine(SignIn(null));
            StartCoroutine(ProcessEventQueue());
        }

        // ---- helpers ----

        /// <summary>Wait for a task inside a coroutine, then hand its result or its exception over.</summary>
        public static IEnumerator Await<T>(Task<T> task, Action<T> done, Action<Exception> failed)
        {
            while (!task.IsCompleted) yield return null;
            if (task.IsFaulted || task.IsCanceled)
            {
                var error = task.Exception != null ? task.Exception.GetBaseException() : new TaskCanceledException();
                if (failed != null) failed(error);
            }
            else if (done != null)
            {
                done(task.Result);
            }
        }

        private void Report(Exception error)
        {
            Debug.LogWarning("game backend: " + error.Message);
            var handler = OnError;
            if (handler != null) handler(error);
        }

        // ---- coroutine wrappers ----

        public IEnumerator SignIn(Action<bool> callback)
        {
            var name = string.IsNullOrEmpty(guestDisplayName) ? null : guestDisplayName;
            yield return Await(Client.SignInAsGuestAsync(name),
                id => { if (callback != null) callback(true); },
                e => { Report(e); if (callback != null) callback(false); });
        }

        /// <summary>The seed's call: each value is applied by its stat's declared aggregation.</summary>
        public IEnumerator UpdatePlayerStats(Dictionary<string, object> stats, Action<bool> callback)
        {
            var updates = new Dictionary<string, double>();
            foreach (var stat in stats) updates[stat.Key] = Convert.ToDouble(stat.Value, System.Globalization.CultureInfo.InvariantCulture);
            yield return Await(Client.Stats.UpdateAsync(updates),
                view => { if (callback != null) callback(true); },
                e => { Report(e); if (callback != null) callback(false); });
        }

        public IEnumerator GetPlayerStats(Action<PlayerStats> callback)
        {
            yield return Await(Client.Stats.GetAsync(), callback, e => { Report(e); if (callback != null) callback(null); });
        }

        /// <summary>The seed's call: the board's top entries (empty on failure).</summary>
        public IEnumerator GetLeaderboard(string leaderboardType, int limit, Action<List<LeaderboardEntry>> callback)
        {
            yield return Await(Client.Leaderboards.GetTopAsync(leaderboardType, limit),
                page => callback(page.Entries),
                e => { Report(e); callback(new List<LeaderboardEntry>()); });
        }

        public IEnumerator GetMyRank(string board, int around, Action<LeaderboardStanding> callback)
        {
            yield return Await(Client.Leaderboards.GetMeAsync(board, around), callback, e => { Report(e); callback(null); });
        }

        public IEnumerator SubmitScore(string board, double score, Action<ScoreSubmitted> callback)
        {
            yield return Await(Client.Leaderboards.SubmitScoreAsync(board, score), callback, e => { Report(e); if (callback != null) callback(null); });
        }

        public IEnumerator GetAchievements(Action<AchievementList> callback)
        {
            yield return Await(Client.Achievements.ListAsync(), callback, e => { Report(e); callback(null); });
        }

        /// <summary>Queue up and poll with backoff until matched, timed out or cancelled.</summary>
        public IEnumerator FindMatch(string queue, string region, Action<MatchTicket> callback)
        {
            yield return Await(Client.Matchmaking.FindMatchAsync(queue, region), callback, e => { Report(e); callback(null); });
        }

        /// <summary>Save a slot; on a conflict the callback gets the SaveConflictException with the server's version.</summary>
        public IEnumerator SaveProgress(string slot, object data, long expectedVersion, Action<SaveSlotInfo, SaveConflictException> callback)
        {
            yield return Await(Client.Saves.PutAsync(slot, data, expectedVersion),
                saved => callback(saved, null),
                e =>
                {
                    var conflict = e as SaveConflictException;
                    if (conflict == null) Report(e);
                    callback(null, conflict);
                });
        }

        public IEnumerator LoadProgress(string slot, Action<SaveData> callback)
        {
            yield return Await(Client.Saves.GetAsync(slot), callback, e =>
            {
                if (!(e is NotFoundException)) Report(e);
                callback(null);
            });
        }

        public IEnumerator GetNotifications(bool unreadOnly, Action<NotificationPage> callback)
        {
            yield return Await(Client.Notifications.ListAsync(20, null, unreadOnly), callback, e => { Report(e); callback(null); });
        }

        /// <summary>The seed's call: queue an event (kept on disk, sent in batches of up to 10, counted once).</summary>
        public void TrackGameEvent(string eventType, Dictionary<string, object> eventData)
        {
            Events.Track(eventType, eventData);
        }

        private IEnumerator ProcessEventQueue()
        {
            var wait = new WaitForSeconds(eventFlushSeconds);
            while (true)
            {
                if (Client.IsSignedIn && Events.Pending > 0)
                {
                    yield return Await(Events.FlushAsync(), null, Report);
                }
                yield return wait;
            }
        }
    }
}

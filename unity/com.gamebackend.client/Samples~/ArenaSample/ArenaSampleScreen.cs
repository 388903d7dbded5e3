using System.Collections;
using System.Collections.Generic;
using System.Threading;
using GameBackend;
using GameBackend.Unity;
using UnityEngine;

/// <summary>
/// The Arena scene's screen, drawn at runtime with Unity's immediate-mode GUI (no Canvas, no UI
/// package, nothing to wire in the editor). It shows the account and the pushes (WebSocket up,
/// or the inbox polled), and has a button for each call: a kill (the first one unlocks
/// First Blood: watch the unlock arrive as a push), a score, the board, a match search you can
/// stop (the ticket is cancelled on the server) and a cloud save. Pushes and errors go to the log.
/// </summary>
public class ArenaSampleScreen : MonoBehaviour
{
    [SerializeField] private GameBackendManager backend;
    [SerializeField] private string board = "daily_score";
    [SerializeField] private string queue = "duel";
    [SerializeField] private string region = "us-east-1";

    private const int LogLines = 12;
    private readonly List<string> _log = new List<string>();
    private List<LeaderboardEntry> _top = new List<LeaderboardEntry>();
    private string _pushes = "stopped";
    private CancellationTokenSource _search;
    private long _saveVersion;
    private int _kills;

    private void Awake()
    {
        if (backend == null) backend = GetComponent<GameBackendManager>();
        if (backend == null) backend = gameObject.AddComponent<GameBackendManager>();
        backend.OnAuthStateChanged += OnAuthState;
        backend.OnPushModeChanged += OnPushMode;
        backend.OnMatchFound += OnMatchFound;
        backend.OnAchievementUnlocked += OnUnlock;
        backend.OnNotification += OnNotification;
        backend.OnPeriodClosed += OnPeriodClosed;
        backend.OnError += OnError;
    }

    private void OnDestroy()
    {
        backend.OnAuthStateChanged -= OnAuthState;
        backend.OnPushModeChanged -= OnPushMode;
        backend.OnMatchFound -= OnMatchFound;
        backend.OnAchievementUnlocked -= OnUnlock;
        backend.OnNotification -= OnNotification;
        backend.OnPeriodClosed -= OnPeriodClosed;
        backend.OnError -= OnError;
    }

    private void OnDisable()
    {
        if (_search != null) _search.Cancel();
    }

    private void Log(string line)
    {
        _log.Add(line);
        if (_log.Count > LogLines) _log.RemoveAt(0);
    }

    private void OnAuthState(AuthState state)
    {
        Log("account: " + state);
    }

    private void OnPushMode(PushMode mode)
    {
        _pushes = mode == PushMode.Pushing ? "connected (pushes)" : mode == PushMode.Polling ? "socket down: polling the inbox" : mode.ToString().ToLowerInvariant();
    }

    private void OnMatchFound(MatchFound match)
    {
        Log("match found: " + match.MatchId);
    }

    private void OnUnlock(AchievementUnlocked unlock)
    {
        Log("achievement unlocked: " + unlock.Title + " (+" + unlock.Points + ")");
    }

    private void OnNotification(Notification note)
    {
        Log("notification: " + note.Title);
    }

    private void OnPeriodClosed(PeriodClosed period)
    {
        Log(period.Board + " " + period.Period + " closed: rank " + period.Rank);
    }

    private void OnError(System.Exception error)
    {
        var typed = error as BackendException;
        Log("error: " + (typed != null ? typed.Code + " " : "") + error.Message);
    }

    private void OnGUI()
    {
        var client = backend.Client;
        if (client == null) return;
        GUILayout.BeginArea(new Rect(10, 10, Mathf.Min(Screen.width - 20, 520), Screen.height - 20));
        GUILayout.Label("Account: " + client.State + (client.IsSignedIn ? " as " + client.PlayerId : ""));
        GUILayout.Label("Pushes: " + _pushes + "   Events queued: " + backend.Events.Pending);

        if (client.State == AuthState.SignInRequired || client.State == AuthState.Deleted)
        {
            // The kept account was refused: a real game offers its sign-in screen first.
            if (GUILayout.Button("Start over as a new guest")) StartCoroutine(StartOver());
        }
        else if (!client.IsSignedIn)
        {
            if (GUILayout.Button("Sign in")) StartCoroutine(backend.SignIn(null));
        }
        else
        {
            GUILayout.BeginHorizontal();
            if (GUILayout.Button("+1 kill")) StartCoroutine(AddKill());
            if (GUILayout.Button("Submit a score")) StartCoroutine(SubmitScore());
            if (GUILayout.Button("Refresh the board")) StartCoroutine(RefreshBoard());
            if (GUILayout.Button("Save")) StartCoroutine(Save());
            GUILayout.EndHorizontal();
            if (_search == null)
            {
                if (GUILayout.Button("Find a " + queue + " match in " + region)) StartCoroutine(FindMatch());
            }
            else if (GUILayout.Button("Stop searching (cancels the ticket)"))
            {
                _search.Cancel();
            }
        }

        GUILayout.Space(8);
        GUILayout.Label("Top of " + board + ":");
        foreach (var entry in _top) GUILayout.Label("  " + entry.Rank + ". " + entry.DisplayName + "  " + entry.Score);
        GUILayout.Space(8);
        foreach (var line in _log) GUILayout.Label(line);
        GUILayout.EndArea();
    }

    private IEnumerator StartOver()
    {
        yield return GameBackendManager.Await(backend.Client.StartOverAsNewGuestAsync(), id => Log("new guest " + id), OnError);
    }

    private IEnumerator AddKill()
    {
        _kills++;
        backend.TrackGameEvent("kill", new Dictionary<string, object> { { "count", _kills } });
        yield return backend.UpdatePlayerStats(new Dictionary<string, object> { { "kills", 1 } }, ok => Log(ok ? "kills +1" : "kills not updated"));
    }

    private IEnumerator SubmitScore()
    {
        yield return backend.SubmitScore(board, Mathf.Round(Random.value * 1000), result =>
        {
            if (result != null) Log("score " + result.Entry.Score + ": rank " + result.Entry.Rank + " of " + result.TotalEntries);
        });
        yield return RefreshBoard();
    }

    private IEnumerator RefreshBoard()
    {
        yield return backend.GetLeaderboard(board, 5, entries => _top = entries);
    }

    private IEnumerator Save()
    {
        if (_saveVersion == 0) yield return backend.LoadProgress("main", save => _saveVersion = save != null ? save.Version : 0);
        var progress = new Dictionary<string, object> { { "kills", _kills } };
        yield return backend.SaveProgress("main", progress, _saveVersion, (saved, conflict) =>
        {
            if (saved != null)
            {
                _saveVersion = saved.Version;
                Log("saved, version " + saved.Version);
            }
            else if (conflict != null)
            {
                // Another device saved first: take its version, then save again (merge first in a real game).
                _saveVersion = conflict.CurrentVersion;
                Log("save conflict: the server has version " + conflict.CurrentVersion);
            }
        });
    }

    private IEnumerator FindMatch()
    {
        _search = new CancellationTokenSource();
        Log("searching...");
        yield return backend.FindMatch(queue, region, ticket =>
        {
            if (ticket != null && ticket.Match != null) Log("matched with " + string.Join(", ", ticket.Match.Players.ToArray()));
            else Log("no match: " + (ticket != null ? ticket.Status : "stopped"));
        }, _search.Token);
        _search.Dispose();
        _search = null;
    }
}

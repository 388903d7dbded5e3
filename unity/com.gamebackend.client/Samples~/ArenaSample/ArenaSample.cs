using System.Collections;
using System.Collections.Generic;
using System.Threading;
using GameBackend;
using GameBackend.Unity;
using UnityEngine;

/// <summary>
/// Put on any GameObject of an empty scene (it adds a GameBackendManager when none is set): signs
/// in (joining the manager's own sign-in: one account), records a match result, shows the board
/// around the player, finds a duel, saves progress and tracks events. Disabling it stops the
/// match search and cancels the ticket on the server.
/// </summary>
public class ArenaSample : MonoBehaviour
{
    [SerializeField] private GameBackendManager backend;
    [SerializeField] private string board = "daily_score";
    [SerializeField] private string queue = "duel";
    [SerializeField] private string region = "us-east-1";

    private long _saveVersion;
    private CancellationTokenSource _search;

    private void Awake()
    {
        if (backend == null) backend = GetComponent<GameBackendManager>();
        if (backend == null) backend = gameObject.AddComponent<GameBackendManager>();
        backend.OnAuthStateChanged += state =>
        {
            // SignInRequired, Banned, Deleted: the game shows its sign-in or support screen here.
            if (state != AuthState.SignedIn && state != AuthState.SigningIn) Debug.Log("account state: " + state);
        };
    }

    private void OnDisable()
    {
        if (_search != null) _search.Cancel();
    }

    private IEnumerator Start()
    {
        var signedIn = false;
        yield return backend.SignIn(ok => signedIn = ok);
        if (!signedIn) yield break;
        Debug.Log("signed in as " + backend.Client.PlayerId);

        backend.TrackGameEvent("session_start", new Dictionary<string, object> { { "build", "sample" } });

        yield return backend.UpdatePlayerStats(new Dictionary<string, object> { { "kills", 3 }, { "matches_played", 1 } },
            ok => Debug.Log("stats updated: " + ok));

        yield return backend.SubmitScore(board, Random.value * 1000, result =>
        {
            if (result != null) Debug.Log("rank " + result.Entry.Rank + " of " + result.TotalEntries);
        });

        yield return backend.GetMyRank(board, 2, standing =>
        {
            if (standing == null) return;
            foreach (var entry in standing.Entries) Debug.Log(entry.Rank + ". " + entry.DisplayName + " " + entry.Score);
        });

        yield return backend.LoadProgress("main", save => _saveVersion = save != null ? save.Version : 0);
        var progress = new Dictionary<string, object> { { "level", 3 }, { "coins", 120 } };
        yield return backend.SaveProgress("main", progress, _saveVersion, (saved, conflict) =>
        {
            if (saved != null) _saveVersion = saved.Version;
            // Another device wrote first: merge with the server's copy, then save against its version.
            else if (conflict != null) Debug.Log("save conflict, server has version " + conflict.CurrentVersion);
        });

        _search = new CancellationTokenSource();
        yield return backend.FindMatch(queue, region, ticket =>
        {
            if (ticket != null && ticket.Match != null) Debug.Log("matched: " + string.Join(", ", ticket.Match.Players.ToArray()));
            else Debug.Log("no match: " + (ticket != null ? ticket.Status : "stopped or failed"));
        }, _search.Token);

        backend.TrackGameEvent("match_end", new Dictionary<string, object> { { "won", true } });
    }
}

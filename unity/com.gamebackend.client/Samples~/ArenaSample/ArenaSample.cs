using System.Collections;
using System.Collections.Generic;
using GameBackend;
using GameBackend.Unity;
using UnityEngine;

/// <summary>
/// Put on a GameObject beside GameBackendManager (signInOnStart off): signs in, records a match
/// result, shows the board around the player, finds a duel, saves progress and tracks events.
/// </summary>
public class ArenaSample : MonoBehaviour
{
    [SerializeField] private GameBackendManager backend;
    [SerializeField] private string board = "daily_score";
    [SerializeField] private string queue = "duel";
    [SerializeField] private string region = "us-east-1";

    private long _saveVersion;

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

        yield return backend.FindMatch(queue, region, ticket =>
        {
            if (ticket != null && ticket.Match != null) Debug.Log("matched: " + string.Join(", ", ticket.Match.Players.ToArray()));
            else Debug.Log("no match: " + (ticket != null ? ticket.Status : "error"));
        });

        backend.TrackGameEvent("match_end", new Dictionary<string, object> { { "won", true } });
    }
}

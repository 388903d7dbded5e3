using System.Collections.Generic;
using Newtonsoft.Json.Linq;

namespace GameBackend
{
    /// <summary>What /auth/* answers. Username and password come only for a new guest.</summary>
    [Preserve]
    public sealed class Tokens
    {
        [Preserve] public string PlayerId;
        [Preserve] public string IdToken;
        [Preserve] public string AccessToken;
        [Preserve] public string RefreshToken;
        [Preserve] public int ExpiresIn;
        [Preserve] public string Username;
        [Preserve] public string Password;
    }

    /// <summary>The credentials kept on the device so a guest finds the same account after a restart.</summary>
    [Preserve]
    public sealed class StoredCredentials
    {
        [Preserve] public string Username;
        [Preserve] public string Password;
        [Preserve] public string PlayerId;
        [Preserve] public bool IsGuest = true;
        /// <summary>Kept for an upgraded account instead of its password.</summary>
        [Preserve] public string RefreshToken;
    }

    [Preserve]
    public sealed class PlayerProfile
    {
        [Preserve] public string PlayerId;
        [Preserve] public string DisplayName;
        [Preserve] public string CreatedAt;
        [Preserve] public string LastSeenAt;
        [Preserve] public bool IsGuest;
        [Preserve] public string Email;
    }

    [Preserve]
    public sealed class AccountDeleted
    {
        [Preserve] public string PlayerId;
        [Preserve] public bool Deleted;
        [Preserve] public Dictionary<string, int> Erased;
    }

    [Preserve]
    public sealed class PlayerStats
    {
        [Preserve] public string PlayerId;
        [Preserve] public Dictionary<string, double> Stats = new Dictionary<string, double>();
        [Preserve] public string UpdatedAt;

        public double Get(string name, double fallback = 0)
        {
            double value;
            return Stats != null && Stats.TryGetValue(name, out value) ? value : fallback;
        }
    }

    /// <summary>GET /config: the client-visible part of the game config, kept as JSON sections.</summary>
    [Preserve]
    public sealed class GameConfigView
    {
        [Preserve] public string Game;
        [Preserve] public JObject Stats;
        [Preserve] public JObject Leaderboards;
        [Preserve] public JObject Achievements;
        [Preserve] public JObject Queues;
        [Preserve] public JObject Events;
        [Preserve] public JObject Saves;
    }

    [Preserve]
    public sealed class Health
    {
        [Preserve] public string Status;
        [Preserve] public string Stage;
        [Preserve] public string Store;
    }
}

using System.Collections.Generic;
using Newtonsoft.Json.Linq;

namespace GameBackend
{
    /// <summary>What /auth/* answers. Username and password come only for a new guest.</summary>
    public sealed class Tokens
    {
        public string PlayerId;
        public string IdToken;
        public string AccessToken;
        public string RefreshToken;
        public int ExpiresIn;
        public string Username;
        public string Password;
    }

    /// <summary>The credentials kept on the device so a guest finds the same account after a restart.</summary>
    public sealed class StoredCredentials
    {
        public string Username;
        public string Password;
        public string PlayerId;
        public bool IsGuest = true;
        /// <summary>Kept for an upgraded account instead of its password.</summary>
        public string RefreshToken;
    }

    public sealed class PlayerProfile
    {
        public string PlayerId;
        public string DisplayName;
        public string CreatedAt;
        public string LastSeenAt;
        public bool IsGuest;
        public string Email;
    }

    public sealed class AccountDeleted
    {
        public string PlayerId;
        public bool Deleted;
        public Dictionary<string, int> Erased;
    }

    public sealed class PlayerStats
    {
        public string PlayerId;
        public Dictionary<string, double> Stats = new Dictionary<string, double>();
        public string UpdatedAt;

        public double Get(string name, double fallback = 0)
        {
            double value;
            return Stats != null && Stats.TryGetValue(name, out value) ? value : fallback;
        }
    }

    /// <summary>GET /config: the client-visible part of the game config, kept as JSON sections.</summary>
    public sealed class GameConfigView
    {
        public string Game;
        public JObject Stats;
        public JObject Leaderboards;
        public JObject Achievements;
        public JObject Queues;
        public JObject Events;
        public JObject Saves;
    }

    public sealed class Health
    {
        public string Status;
        public string Stage;
        public string Store;
    }
}

using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace GameBackend
{
    /// <summary>The caller's profile: read, rename, delete the account (every service's data with it).</summary>
    public sealed class PlayersApi
    {
        private readonly BackendClient _client;

        internal PlayersApi(BackendClient client)
        {
            _client = client;
        }

        public Task<PlayerProfile> GetMeAsync(CancellationToken ct = default(CancellationToken))
        {
            return _client.SendAsync<PlayerProfile>("GET", "/players/me", null, true, ct);
        }

        /// <summary>3-24 letters, digits, spaces, '.', '-', '_'; a bad name throws InvalidRequestException (Field "display_name").</summary>
        public Task<PlayerProfile> RenameAsync(string displayName, CancellationToken ct = default(CancellationToken))
        {
            return _client.SendAsync<PlayerProfile>("PATCH", "/players/me", new RenameRequest { DisplayName = displayName }, true, ct);
        }

        /// <summary>Delete the account and everything it owns; the client is signed out and forgets the device credentials.</summary>
        public async Task<AccountDeleted> DeleteAccountAsync(CancellationToken ct = default(CancellationToken))
        {
            var result = await _client.SendAsync<AccountDeleted>("DELETE", "/players/me", null, true, ct);
            _client.SignOut(true);
            return result;
        }
    }

    /// <summary>Player stats declared in the game config; updates are atomic, all or nothing.</summary>
    public sealed class StatsApi
    {
        private readonly BackendClient _client;

        internal StatsApi(BackendClient client)
        {
            _client = client;
        }

        public Task<PlayerStats> GetAsync(CancellationToken ct = default(CancellationToken))
        {
            return _client.SendAsync<PlayerStats>("GET", "/players/me/stats", null, true, ct);
        }

        /// <summary>
        /// Apply each stat's declared aggregation: sum stats add the value, max/min keep the
        /// better one, latest replaces it. Answers every stat after the update. Retried safely under one
        /// Idempotency-Key: a sum stat is added once however many times the call is sent.
        /// </summary>
        public Task<PlayerStats> UpdateAsync(IDictionary<string, double> updates, CancellationToken ct = default(CancellationToken))
        {
            return _client.SendWriteAsync<PlayerStats>("POST", "/players/me/stats", new StatsUpdateRequest { Updates = updates }, ct);
        }
    }
}

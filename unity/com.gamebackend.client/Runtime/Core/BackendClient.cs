using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;

namespace GameBackend
{
    public sealed class BackendOptions
    {
        /// <summary>The API's base URL, e.g. http://127.0.0.1:8000 for `make run`.</summary>
        public string BaseUrl = "http://127.0.0.1:8000";
        public int TimeoutSeconds = 30;
        /// <summary>Tokens are refreshed when they expire within this margin.</summary>
        public TimeSpan RefreshMargin = TimeSpan.FromSeconds(60);
        /// <summary>The key under which the device credentials are kept.</summary>
        public string CredentialsKey = "gamebackend.credentials";
    }

    /// <summary>
    /// The client: one per game. Holds the session (tokens refreshed before expiry, one retry
    /// after a 401 with a fresh token) and exposes every service. Task-based; in Unity its
    /// continuations stay on the main thread (no ConfigureAwait(false)), as UnityWebRequest needs.
    /// </summary>
    public sealed class BackendClient
    {
        private readonly ITransport _transport;
        private readonly IKeyValueStore _store;
        private readonly SemaphoreSlim _authLock = new SemaphoreSlim(1, 1);
        private Tokens _tokens;
        private DateTime _expiresAt;

        public BackendOptions Options { get; private set; }
        public ITimeSource Time { get; private set; }

        public PlayersApi Players { get; private set; }
        public StatsApi Stats { get; private set; }
        public LeaderboardsApi Leaderboards { get; private set; }
        public AchievementsApi Achievements { get; private set; }
        public MatchmakingApi Matchmaking { get; private set; }
        public SavesApi Saves { get; private set; }
        public NotificationsApi Notifications { get; private set; }
        public EventsApi Events { get; private set; }

        public BackendClient(BackendOptions options, ITransport transport, IKeyValueStore credentials = null, ITimeSource time = null)
        {
            Options = options ?? new BackendOptions();
            _transport = transport;
            _store = credentials ?? new MemoryStore();
            Time = time ?? SystemTime.Instance;
            Players = new PlayersApi(this);
            Stats = new StatsApi(this);
            Leaderboards = new LeaderboardsApi(this);
            Achievements = new AchievementsApi(this);
            Matchmaking = new MatchmakingApi(this);
            Saves = new SavesApi(this);
            Notifications = new NotificationsApi(this);
            Events = new EventsApi(this);
        }

        /// <summary>The signed-in player's id (the token's subject), or null.</summary>
        public string PlayerId
        {
            get { return _tokens != null ? _tokens.PlayerId : null; }
        }

        public bool IsSignedIn
        {
            get { return _tokens != null; }
        }

        /// <summary>The current ID token, for calls made outside this client.</summary>
        public string IdToken
        {
            get { return _tokens != null ? _tokens.IdToken : null; }
        }

        public DateTime TokenExpiresAt
        {
            get { return _expiresAt; }
        }

        // ---- auth ----

        /// <summary>
        /// Sign in as this device's guest: the kept credentials when there are some, else a new
        /// guest account whose credentials are kept for next time.
        /// </summary>
        public async Task<string> SignInAsGuestAsync(string displayName = null, CancellationToken ct = default(CancellationToken))
        {
            var kept = LoadCredentials();
            if (kept != null)
            {
                try
                {
                    if (!kept.IsGuest && kept.RefreshToken != null)
                    {
                        var refreshed = await PostAuthAsync("/auth/refresh", new { refresh_token = kept.RefreshToken }, ct);
                        if (refreshed.RefreshToken == null) refreshed.RefreshToken = kept.RefreshToken;
                        Accept(refreshed);
                        return PlayerId;
                    }
                    if (kept.Password != null)
                    {
                        Accept(await PostAuthAsync("/auth/login", new { username = kept.Username, password = kept.Password }, ct));
                        return PlayerId;
                    }
                }
                catch (UnauthorizedException)
                {
                    // The account is gone (deleted) or its password changed elsewhere: start a new guest.
                    _store.Delete(Options.CredentialsKey);
                }
            }
            var body = new Dictionary<string, object>();
            if (displayName != null) body["display_name"] = displayName;
            var tokens = await PostAuthAsync("/auth/guest", body, ct);
            SaveCredentials(new StoredCredentials { Username = tokens.Username, Password = tokens.Password, PlayerId = tokens.PlayerId, IsGuest = true });
            tokens.Password = null;
            Accept(tokens);
            return PlayerId;
        }

        /// <summary>Sign in with a username (or an upgraded account's email) and password; its refresh token is kept.</summary>
        public async Task<string> SignInAsync(string username, string password, CancellationToken ct = default(CancellationToken))
        {
            var tokens = await PostAuthAsync("/auth/login", new { username = username, password = password }, ct);
            Accept(tokens);
            SaveCredentials(new StoredCredentials { Username = username, PlayerId = tokens.PlayerId, IsGuest = false, RefreshToken = tokens.RefreshToken });
            return PlayerId;
        }

        /// <summary>Turn the signed-in guest into an email account: same player, same data. The guest password is forgotten.</summary>
        public async Task<string> UpgradeAsync(string email, string password, CancellationToken ct = default(CancellationToken))
        {
            var tokens = await SendAsync<Tokens>("POST", "/auth/upgrade", new { email = email, password = password }, true, ct);
            Accept(tokens);
            var kept = LoadCredentials() ?? new StoredCredentials();
            SaveCredentials(new StoredCredentials { Username = kept.Username ?? email, PlayerId = tokens.PlayerId, IsGuest = false, RefreshToken = tokens.RefreshToken });
            return PlayerId;
        }

        /// <summary>Forget the session; with <paramref name="forgetDevice"/> also the kept credentials (a guest account is then lost).</summary>
        public void SignOut(bool forgetDevice = false)
        {
            _tokens = null;
            if (forgetDevice) _store.Delete(Options.CredentialsKey);
        }

        /// <summary>New tokens from the refresh token (or the kept guest credentials when it is refused).</summary>
        public async Task RefreshAsync(CancellationToken ct = default(CancellationToken))
        {
            var current = _tokens;
            await _authLock.WaitAsync(ct);
            try
            {
                if (_tokens != current && _tokens != null && !ExpiresSoon()) return;  // another caller refreshed
                await RefreshLockedAsync(ct);
            }
            finally
            {
                _authLock.Release();
            }
        }

        private async Task RefreshLockedAsync(CancellationToken ct)
        {
            if (_tokens != null && _tokens.RefreshToken != null)
            {
                try
                {
                    var fresh = await PostAuthAsync("/auth/refresh", new { refresh_token = _tokens.RefreshToken }, ct);
                    if (fresh.RefreshToken == null) fresh.RefreshToken = _tokens.RefreshToken;
                    Accept(fresh);
                    return;
                }
                catch (UnauthorizedException)
                {
                    // Refresh token revoked or expired: fall back to the device credentials below.
                }
            }
            var kept = LoadCredentials();
            if (kept != null && kept.Password != null)
            {
                Accept(await PostAuthAsync("/auth/login", new { username = kept.Username, password = kept.Password }, ct));
                return;
            }
            _tokens = null;
            throw new UnauthorizedException("signed_out", "the session expired: sign in again", null);
        }

        private bool ExpiresSoon()
        {
            return Time.UtcNow + Options.RefreshMargin >= _expiresAt;
        }

        private async Task<string> AuthorizationAsync(CancellationToken ct)
        {
            if (_tokens == null) throw new UnauthorizedException("signed_out", "not signed in: call SignInAsGuestAsync or SignInAsync first", null);
            if (ExpiresSoon()) await RefreshAsync(ct);
            return "Bearer " + _tokens.IdToken;
        }

        private void Accept(Tokens tokens)
        {
            _tokens = tokens;
            _expiresAt = Time.UtcNow + TimeSpan.FromSeconds(Math.Max(0, tokens.ExpiresIn));
        }

        private Task<Tokens> PostAuthAsync(string path, object body, CancellationToken ct)
        {
            return SendAsync<Tokens>("POST", path, body, false, ct);
        }

        private StoredCredentials LoadCredentials()
        {
            var json = _store.Get(Options.CredentialsKey);
            if (string.IsNullOrEmpty(json)) return null;
            try
            {
                return Json.Deserialize<StoredCredentials>(json);
            }
            catch (Exception)
            {
                return null;
            }
        }

        private void SaveCredentials(StoredCredentials credentials)
        {
            _store.Set(Options.CredentialsKey, Json.Serialize(credentials));
        }

        // ---- requests ----

        public Task<Health> HealthAsync(CancellationToken ct = default(CancellationToken))
        {
            return SendAsync<Health>("GET", "/health", null, false, ct);
        }

        /// <summary>What the client may call: stats, boards, visible achievements, queues.</summary>
        public Task<GameConfigView> GetConfigAsync(CancellationToken ct = default(CancellationToken))
        {
            return SendAsync<GameConfigView>("GET", "/config", null, true, ct);
        }

        /// <summary>
        /// Send one request and decode the answer. A 401 on an authenticated call refreshes the
        /// token and retries once; any other error status throws its typed BackendException.
        /// </summary>
        public async Task<T> SendAsync<T>(string method, string path, object body, bool authenticated = true, CancellationToken ct = default(CancellationToken))
        {
            var response = await SendRawAsync(method, path, body, authenticated, ct);
            if (response.Status >= 400) throw BackendException.FromResponse(response);
            if (typeof(T) == typeof(JToken) || typeof(T) == typeof(JObject))
            {
                return (T)(object)Json.Parse(response.Body);
            }
            return string.IsNullOrEmpty(response.Body) ? default(T) : Json.Deserialize<T>(response.Body);
        }

        /// <summary>Like SendAsync but answers the raw response, whatever its status (401 still retried once).</summary>
        public async Task<HttpResponseData> SendRawAsync(string method, string path, object body, bool authenticated = true, CancellationToken ct = default(CancellationToken))
        {
            var payload = body == null ? null : (body as string ?? Json.Serialize(body));
            var response = await SendOnceAsync(method, path, payload, authenticated ? await AuthorizationAsync(ct) : null, ct);
            if (response.Status == 401 && authenticated)
            {
                var stale = _tokens;
                await _authLock.WaitAsync(ct);
                try
                {
                    if (_tokens == stale) await RefreshLockedAsync(ct);
                }
                finally
                {
                    _authLock.Release();
                }
                response = await SendOnceAsync(method, path, payload, "Bearer " + _tokens.IdToken, ct);
            }
            return response;
        }

        private Task<HttpResponseData> SendOnceAsync(string method, string path, string payload, string authorization, CancellationToken ct)
        {
            var request = new HttpRequestData
            {
                Method = method,
                Url = Options.BaseUrl.TrimEnd('/') + path,
                Body = payload,
                TimeoutSeconds = Options.TimeoutSeconds,
            };
            request.Headers["Accept"] = "application/json";
            if (payload != null) request.Headers["Content-Type"] = "application/json";
            if (authorization != null) request.Headers["Authorization"] = authorization;
            return _transport.SendAsync(request, ct);
        }

        /// <summary>A request outside the API (a presigned storage URL): no token, no retry, the raw response.</summary>
        public Task<HttpResponseData> SendExternalAsync(HttpRequestData request, CancellationToken ct = default(CancellationToken))
        {
            return _transport.SendAsync(request, ct);
        }

        /// <summary>Escape one path segment (ids, slot names).</summary>
        public static string Segment(string value)
        {
            if (string.IsNullOrEmpty(value)) throw new ArgumentException("a path segment must not be empty");
            return Uri.EscapeDataString(value);
        }

        /// <summary>A query string from the non-null pairs.</summary>
        public static string Query(params object[] pairs)
        {
            var parts = new List<string>();
            for (var i = 0; i + 1 < pairs.Length; i += 2)
            {
                if (pairs[i + 1] == null) continue;
                var value = pairs[i + 1] is bool ? ((bool)pairs[i + 1] ? "true" : "false")
                    : Convert.ToString(pairs[i + 1], System.Globalization.CultureInfo.InvariantCulture);
                parts.Add(Uri.EscapeDataString((string)pairs[i]) + "=" + Uri.EscapeDataString(value));
            }
            return parts.Count == 0 ? "" : "?" + string.Join("&", parts.ToArray());
        }
    }
}

using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;

namespace GameBackend
{
    /// <summary>Where the client runs: plain HTTP is allowed only for Local.</summary>
    public enum BackendEnvironment
    {
        Local,
        Staging,
        Production,
    }

    public sealed class BackendOptions
    {
        /// <summary>The API's base URL, e.g. http://127.0.0.1:8000 for `make run`.</summary>
        public string BaseUrl = "http://127.0.0.1:8000";
        /// <summary>Staging and Production require an https:// BaseUrl.</summary>
        public BackendEnvironment Environment = BackendEnvironment.Local;
        public int TimeoutSeconds = 30;
        /// <summary>Tokens are refreshed when they expire within this margin.</summary>
        public TimeSpan RefreshMargin = TimeSpan.FromSeconds(60);
        /// <summary>
        /// Requests made at most for one call that may be retried: reads (GET) and writes that carry an
        /// Idempotency-Key. 1 turns retries off. Other calls are sent once.
        /// </summary>
        public int MaxAttempts = 3;
        /// <summary>Full jitter: the wait before retry n is random in [0, min(RetryMax, RetryBase * 2^n)].</summary>
        public TimeSpan RetryBase = TimeSpan.FromMilliseconds(500);
        public TimeSpan RetryMax = TimeSpan.FromSeconds(8);
        /// <summary>A Retry-After longer than this is not waited for inside a call: the error goes to the game.</summary>
        public TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(30);

        /// <summary>Throws ArgumentException for a URL that is not absolute http(s), or plain HTTP outside Local.</summary>
        public void Validate()
        {
            Uri uri;
            if (string.IsNullOrEmpty(BaseUrl) || !Uri.TryCreate(BaseUrl, UriKind.Absolute, out uri)
                || (uri.Scheme != "http" && uri.Scheme != "https"))
            {
                throw new ArgumentException("BaseUrl must be an absolute http(s) URL, got '" + BaseUrl + "'");
            }
            if (Environment != BackendEnvironment.Local && uri.Scheme != "https")
            {
                throw new ArgumentException(Environment + " requires an https:// BaseUrl (plain HTTP is for Local only), got '" + BaseUrl + "'");
            }
            if (TimeoutSeconds < 1) throw new ArgumentException("TimeoutSeconds must be at least 1");
            if (MaxAttempts < 1) throw new ArgumentException("MaxAttempts must be at least 1");
        }
    }

    /// <summary>Where the player's sign-in stands; every change raises BackendClient.AuthStateChanged.</summary>
    public enum AuthState
    {
        SignedOut,
        SigningIn,
        SignedIn,
        /// <summary>The kept credentials or the session were refused: ask the player to sign in again.</summary>
        SignInRequired,
        /// <summary>The account is banned (403 account_banned).</summary>
        Banned,
        /// <summary>The account was deleted (401 account_deleted).</summary>
        Deleted,
    }

    /// <summary>
    /// The client: one per game. Holds the session (tokens refreshed before expiry, one retry
    /// after a 401 with a fresh token) and exposes every service. Task-based and single-threaded:
    /// it never leaves the caller's synchronisation context (no ConfigureAwait(false), no thread),
    /// so in Unity every continuation and every UnityWebRequest call stays on the main thread.
    /// </summary>
    public sealed class BackendClient
    {
        public const string IdempotencyHeader = "Idempotency-Key";

        private readonly ITransport _transport;
        private readonly ICredentialStore _credentials;
        private readonly SemaphoreSlim _authLock = new SemaphoreSlim(1, 1);
        private readonly object _gate = new object();
        private Task<string> _signIn;
        private Tokens _tokens;
        private DateTime _expiresAt;
        private AuthState _state = AuthState.SignedOut;

        public BackendOptions Options { get; private set; }
        public ITimeSource Time { get; private set; }
        /// <summary>The waits between retries of one call (full jitter); replace it to seed its randomness.</summary>
        public Backoff Retries { get; set; }

        public PlayersApi Players { get; private set; }
        public StatsApi Stats { get; private set; }
        public LeaderboardsApi Leaderboards { get; private set; }
        public AchievementsApi Achievements { get; private set; }
        public MatchmakingApi Matchmaking { get; private set; }
        public SavesApi Saves { get; private set; }
        public NotificationsApi Notifications { get; private set; }
        public EventsApi Events { get; private set; }

        /// <summary>Raised on the caller's context whenever <see cref="State"/> changes.</summary>
        public event Action<AuthState> AuthStateChanged;

        /// <param name="credentials">Where the device keeps its credentials; in memory (lost on exit) when null.</param>
        /// <param name="time">The clock and the waits; TimeSources.Default when null.</param>
        public BackendClient(BackendOptions options, ITransport transport, ICredentialStore credentials = null, ITimeSource time = null)
        {
            Options = options ?? new BackendOptions();
            Options.Validate();
            _transport = transport;
            _credentials = credentials ?? new KeyValueCredentialStore(new MemoryStore());
            Time = time ?? TimeSources.Default;
            Retries = new Backoff { Base = Options.RetryBase, Max = Options.RetryMax };
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

        public AuthState State
        {
            get { return _state; }
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
        /// Sign in as this device's account: the kept credentials when there are some, else a new
        /// guest whose credentials are kept for next time. Single-flight: every caller while one
        /// sign-in runs shares it (one account, however many callers); once signed in it answers at
        /// once. Kept credentials that are refused never lead to a new guest: the call throws
        /// SignInRequiredException, AccountDeletedException or AccountBannedException and
        /// <see cref="State"/> says which; <see cref="StartOverAsNewGuestAsync"/> is the game's explicit choice.
        /// </summary>
        public Task<string> SignInAsGuestAsync(string displayName = null, CancellationToken ct = default(CancellationToken))
        {
            Task<string> flight;
            lock (_gate)
            {
                if (_tokens != null) return Task.FromResult(PlayerId);
                if (_signIn == null || _signIn.IsCompleted) _signIn = SignInAsDeviceAsync(displayName);
                flight = _signIn;
            }
            return ct.CanBeCanceled ? WaitAsync(flight, ct) : flight;
        }

        /// <summary>The caller stops waiting when <paramref name="ct"/> is cancelled; the shared sign-in goes on for the others.</summary>
        private static async Task<string> WaitAsync(Task<string> flight, CancellationToken ct)
        {
            var cancelled = new TaskCompletionSource<string>();
            using (ct.Register(() => cancelled.TrySetCanceled()))
            {
                var first = await Task.WhenAny(flight, cancelled.Task);
                return await first;
            }
        }

        private async Task<string> SignInAsDeviceAsync(string displayName)
        {
            SetState(AuthState.SigningIn);
            try
            {
                StoredCredentials kept;
                try
                {
                    kept = _credentials.Load();
                }
                catch (System.IO.InvalidDataException e)
                {
                    throw new SignInRequiredException(e.Message);
                }
                if (kept != null)
                {
                    Tokens tokens;
                    if (!kept.IsGuest || kept.Password == null)
                    {
                        if (kept.RefreshToken == null) throw new SignInRequiredException("this device's account signs in with its email and password");
                        tokens = await RefusalToStateAsync(PostAuthAsync("/auth/refresh", new RefreshRequest { RefreshToken = kept.RefreshToken }, CancellationToken.None),
                            "this device's session has ended: sign in again with the email and password");
                        if (tokens.RefreshToken == null) tokens.RefreshToken = kept.RefreshToken;
                    }
                    else
                    {
                        tokens = await RefusalToStateAsync(PostAuthAsync("/auth/login", new LoginRequest { Username = kept.Username, Password = kept.Password }, CancellationToken.None),
                            "this device's guest account was refused: its credentials no longer sign in");
                    }
                    Accept(tokens);
                    return PlayerId;
                }
                var guest = await PostAuthAsync("/auth/guest", new GuestRequest { DisplayName = displayName }, CancellationToken.None);
                _credentials.Save(new StoredCredentials { Username = guest.Username, Password = guest.Password, PlayerId = guest.PlayerId, IsGuest = true });
                guest.Password = null;
                Accept(guest);
                return PlayerId;
            }
            catch (Exception e)
            {
                Fail(e);
                throw;
            }
        }

        /// <summary>A refusal of kept credentials becomes SignInRequired (or keeps its account state); the credentials stay kept.</summary>
        private static async Task<Tokens> RefusalToStateAsync(Task<Tokens> call, string message)
        {
            try
            {
                return await call;
            }
            catch (UnauthorizedException e)
            {
                if (e is AccountDeletedException || e is SignInRequiredException) throw;
                throw new SignInRequiredException(message + " (" + e.Code + ")", e);
            }
        }

        /// <summary>
        /// The game's explicit choice after SignInRequired or Deleted: forget this device's
        /// credentials (the old account can no longer be reached from here) and create a new guest.
        /// </summary>
        public Task<string> StartOverAsNewGuestAsync(string displayName = null, CancellationToken ct = default(CancellationToken))
        {
            lock (_gate)
            {
                if (_signIn != null && !_signIn.IsCompleted) throw new InvalidOperationException("a sign-in is running");
                _tokens = null;
                _credentials.Clear();
            }
            return SignInAsGuestAsync(displayName, ct);
        }

        /// <summary>Sign in with a username (or an upgraded account's email) and password; its refresh token is kept.</summary>
        public async Task<string> SignInAsync(string username, string password, CancellationToken ct = default(CancellationToken))
        {
            SetState(AuthState.SigningIn);
            try
            {
                var tokens = await PostAuthAsync("/auth/login", new LoginRequest { Username = username, Password = password }, ct);
                Accept(tokens);
                _credentials.Save(new StoredCredentials { Username = username, PlayerId = tokens.PlayerId, IsGuest = false, RefreshToken = tokens.RefreshToken });
                return PlayerId;
            }
            catch (Exception e)
            {
                Fail(e);
                throw;
            }
        }

        /// <summary>Turn the signed-in guest into an email account: same player, same data. The guest password is forgotten.</summary>
        public async Task<string> UpgradeAsync(string email, string password, CancellationToken ct = default(CancellationToken))
        {
            var tokens = await SendAsync<Tokens>("POST", "/auth/upgrade", new UpgradeRequest { Email = email, Password = password }, true, ct);
            Accept(tokens);
            StoredCredentials kept = null;
            try
            {
                kept = _credentials.Load();
            }
            catch (System.IO.InvalidDataException)
            {
                // replaced below
            }
            _credentials.Save(new StoredCredentials { Username = kept != null && kept.Username != null ? kept.Username : email, PlayerId = tokens.PlayerId, IsGuest = false, RefreshToken = tokens.RefreshToken });
            return PlayerId;
        }

        /// <summary>Forget the session; with <paramref name="forgetDevice"/> also the kept credentials (a guest account is then lost).</summary>
        public void SignOut(bool forgetDevice = false)
        {
            _tokens = null;
            if (forgetDevice) _credentials.Clear();
            SetState(AuthState.SignedOut);
        }

        /// <summary>New tokens from the refresh token (or, for a guest, the kept guest credentials).</summary>
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
            try
            {
                if (_tokens != null && _tokens.RefreshToken != null)
                {
                    try
                    {
                        var fresh = await PostAuthAsync("/auth/refresh", new RefreshRequest { RefreshToken = _tokens.RefreshToken }, ct);
                        if (fresh.RefreshToken == null) fresh.RefreshToken = _tokens.RefreshToken;
                        Accept(fresh);
                        return;
                    }
                    catch (UnauthorizedException e)
                    {
                        if (e is AccountDeletedException) throw;
                        // Refresh token revoked or expired: a guest signs in again with its kept password below.
                    }
                }
                StoredCredentials kept = null;
                try
                {
                    kept = _credentials.Load();
                }
                catch (System.IO.InvalidDataException)
                {
                    kept = null;
                }
                if (kept != null && kept.IsGuest && kept.Password != null)
                {
                    Accept(await RefusalToStateAsync(PostAuthAsync("/auth/login", new LoginRequest { Username = kept.Username, Password = kept.Password }, ct),
                        "this device's guest account was refused"));
                    return;
                }
                throw new SignInRequiredException("the session has ended: sign in again with the email and password");
            }
            catch (BackendException e)
            {
                if (e is UnauthorizedException || e is AccountBannedException)
                {
                    _tokens = null;
                    Fail(e);
                }
                throw;
            }
        }

        private bool ExpiresSoon()
        {
            return Time.UtcNow + Options.RefreshMargin >= _expiresAt;
        }

        private async Task<string> AuthorizationAsync(CancellationToken ct)
        {
            if (_tokens == null)
            {
                if (_state == AuthState.SignInRequired || _state == AuthState.Banned || _state == AuthState.Deleted)
                {
                    throw new SignInRequiredException("not signed in (" + _state + ")");
                }
                throw new UnauthorizedException("signed_out", "not signed in: call SignInAsGuestAsync or SignInAsync first", null);
            }
            if (ExpiresSoon()) await RefreshAsync(ct);
            return "Bearer " + _tokens.IdToken;
        }

        private void Accept(Tokens tokens)
        {
            _tokens = tokens;
            _expiresAt = Time.UtcNow + TimeSpan.FromSeconds(Math.Max(0, tokens.ExpiresIn));
            SetState(AuthState.SignedIn);
        }

        /// <summary>The state a failure leaves: account states for refusals, SignedOut for anything else (network: try again).</summary>
        private void Fail(Exception e)
        {
            if (e is AccountBannedException) SetState(AuthState.Banned);
            else if (e is AccountDeletedException) SetState(AuthState.Deleted);
            else if (e is SignInRequiredException) SetState(AuthState.SignInRequired);
            else if (_tokens == null) SetState(AuthState.SignedOut);
        }

        private void SetState(AuthState state)
        {
            if (_state == state) return;
            _state = state;
            var handler = AuthStateChanged;
            if (handler != null) handler(state);
        }

        /// <summary>Sign-in calls: login and refresh change nothing on a retry, so they are retried like reads; creating a guest is not.</summary>
        private Task<Tokens> PostAuthAsync(string path, object body, CancellationToken ct)
        {
            return DecodeAsync<Tokens>(SendCoreAsync("POST", path, body, false, null, path != "/auth/guest", ct));
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
        /// token and retries once; a GET is retried on a transient failure (no response, 429,
        /// 5xx) with full jitter, never sooner than Retry-After; any other error status throws its
        /// typed BackendException.
        /// </summary>
        public Task<T> SendAsync<T>(string method, string path, object body, bool authenticated = true, CancellationToken ct = default(CancellationToken))
        {
            return DecodeAsync<T>(SendCoreAsync(method, path, body, authenticated, null, IsSafe(method), ct));
        }

        /// <summary>
        /// A write that is not idempotent by itself (a stat update, a score, a ticket, a save): one
        /// Idempotency-Key (a new GUID) for this logical call, sent again on each retry, so the
        /// server applies it once and answers the same response.
        /// </summary>
        public Task<T> SendWriteAsync<T>(string method, string path, object body, CancellationToken ct = default(CancellationToken))
        {
            return DecodeAsync<T>(SendCoreAsync(method, path, body, true, Guid.NewGuid().ToString("D"), true, ct));
        }

        private async Task<T> DecodeAsync<T>(Task<HttpResponseData> sending)
        {
            var response = await sending;
            if (response.Status >= 400)
            {
                var error = BackendException.FromResponse(response);
                if (error is AccountBannedException || error is AccountDeletedException)
                {
                    _tokens = null;
                    Fail(error);
                }
                throw error;
            }
            if (typeof(T) == typeof(JToken) || typeof(T) == typeof(JObject))
            {
                return (T)(object)Json.Parse(response.Body);
            }
            return string.IsNullOrEmpty(response.Body) ? default(T) : Json.Deserialize<T>(response.Body);
        }

        /// <summary>Like SendAsync but answers the raw response, whatever its status (401 still retried once, a GET retried while transient).</summary>
        public Task<HttpResponseData> SendRawAsync(string method, string path, object body, bool authenticated = true, CancellationToken ct = default(CancellationToken))
        {
            return SendCoreAsync(method, path, body, authenticated, null, IsSafe(method), ct);
        }

        private static bool IsSafe(string method)
        {
            return method == "GET" || method == "HEAD";
        }

        private static bool IsTransient(int status)
        {
            return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
        }

        private async Task<HttpResponseData> SendCoreAsync(string method, string path, object body, bool authenticated, string idempotencyKey, bool retry, CancellationToken ct)
        {
            var payload = body == null ? null : (body as string ?? Json.Serialize(body));
            for (var attempt = 0; ; attempt++)
            {
                HttpResponseData response = null;
                NetworkException lost = null;
                try
                {
                    response = await SendAuthenticatedAsync(method, path, payload, authenticated, idempotencyKey, ct);
                }
                catch (NetworkException e)
                {
                    lost = e;
                }
                var again = retry && attempt + 1 < Options.MaxAttempts && (lost != null || IsTransient(response.Status));
                TimeSpan? retryAfter = response != null ? BackendException.ParseRetryAfter(response.Header("Retry-After")) : null;
                if (again && retryAfter.HasValue && retryAfter.Value > Options.MaxRetryAfter) again = false;
                if (!again)
                {
                    if (lost != null) throw lost;
                    return response;
                }
                await Time.Delay(Retries.Next(attempt, retryAfter), ct);
            }
        }

        private async Task<HttpResponseData> SendAuthenticatedAsync(string method, string path, string payload, bool authenticated, string idempotencyKey, CancellationToken ct)
        {
            var response = await SendOnceAsync(method, path, payload, authenticated ? await AuthorizationAsync(ct) : null, idempotencyKey, ct);
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
                response = await SendOnceAsync(method, path, payload, "Bearer " + _tokens.IdToken, idempotencyKey, ct);
            }
            return response;
        }

        private Task<HttpResponseData> SendOnceAsync(string method, string path, string payload, string authorization, string idempotencyKey, CancellationToken ct)
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
            if (idempotencyKey != null) request.Headers[IdempotencyHeader] = idempotencyKey;
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

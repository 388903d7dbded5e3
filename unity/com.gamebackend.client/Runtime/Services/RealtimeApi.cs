using System;
using System.Collections.Generic;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;

namespace GameBackend
{
    /// <summary>One WebSocket, text messages only. Player builds: the browser's (WebGL, through a .jslib) or System.Net.WebSockets.</summary>
    public interface IWebSocket : IDisposable
    {
        /// <summary>Connect; a refused upgrade throws <see cref="WebSocketRefusedException"/> with the HTTP status.</summary>
        Task ConnectAsync(Uri uri, string authorization, CancellationToken ct);
        Task SendAsync(string text, CancellationToken ct);
        /// <summary>The next text message; null once the connection is closed.</summary>
        Task<string> ReceiveAsync(CancellationToken ct);
        Task CloseAsync();
    }

    public interface IWebSocketFactory
    {
        IWebSocket Create();
        /// <summary>False where a WebSocket cannot carry headers (browsers): the token goes in the query.</summary>
        bool SupportsHeaders { get; }
    }

    /// <summary>The upgrade was refused: 401 (token, or a deleted account), 403 (banned).</summary>
    public sealed class WebSocketRefusedException : Exception
    {
        public int Status { get; private set; }

        public WebSocketRefusedException(int status, string message) : base(message)
        {
            Status = status;
        }

        /// <summary>The status in a "server returned status code '401'" message, 0 when there is none.</summary>
        public static int StatusIn(string message)
        {
            var found = Regex.Match(message ?? "", @"\b([1-5][0-9][0-9])\b");
            return found.Success ? int.Parse(found.Groups[1].Value) : 0;
        }
    }

    /// <summary>The platform's WebSocket, set by the Unity layer on WebGL; System.Net.WebSockets elsewhere.</summary>
    public static class WebSockets
    {
        private static IWebSocketFactory _default;

        public static IWebSocketFactory Default
        {
            get
            {
                if (_default != null) return _default;
#if !UNITY_WEBGL || UNITY_EDITOR
                return SystemWebSocketFactory.Instance;
#else
                throw new InvalidOperationException("no WebSocket: GameBackend.Unity sets the browser's when the player starts");
#endif
            }
            set { _default = value; }
        }
    }

#if !UNITY_WEBGL || UNITY_EDITOR
    public sealed class SystemWebSocketFactory : IWebSocketFactory
    {
        public static readonly SystemWebSocketFactory Instance = new SystemWebSocketFactory();

        public IWebSocket Create()
        {
            return new SystemWebSocket();
        }

        public bool SupportsHeaders
        {
            get { return true; }
        }
    }

    /// <summary>System.Net.WebSockets.ClientWebSocket: editor, standalone, mobile, servers.</summary>
    public sealed class SystemWebSocket : IWebSocket
    {
        private readonly System.Net.WebSockets.ClientWebSocket _socket = new System.Net.WebSockets.ClientWebSocket();

        public async Task ConnectAsync(Uri uri, string authorization, CancellationToken ct)
        {
            if (authorization != null) _socket.Options.SetRequestHeader("Authorization", authorization);
            try
            {
                await _socket.ConnectAsync(uri, ct);
            }
            catch (System.Net.WebSockets.WebSocketException e)
            {
                var status = WebSocketRefusedException.StatusIn(e.Message + " " + (e.InnerException != null ? e.InnerException.Message : ""));
                if (status >= 400 && status < 500) throw new WebSocketRefusedException(status, e.Message);
                throw;
            }
        }

        public Task SendAsync(string text, CancellationToken ct)
        {
            var bytes = new ArraySegment<byte>(System.Text.Encoding.UTF8.GetBytes(text));
            return _socket.SendAsync(bytes, System.Net.WebSockets.WebSocketMessageType.Text, true, ct);
        }

        public async Task<string> ReceiveAsync(CancellationToken ct)
        {
            var buffer = new byte[8192];
            var message = new System.IO.MemoryStream();
            while (true)
            {
                System.Net.WebSockets.WebSocketReceiveResult result;
                try
                {
                    result = await _socket.ReceiveAsync(new ArraySegment<byte>(buffer), ct);
                }
                catch (System.Net.WebSockets.WebSocketException)
                {
                    return null;  // dropped: the caller reconnects
                }
                if (result.MessageType == System.Net.WebSockets.WebSocketMessageType.Close) return null;
                message.Write(buffer, 0, result.Count);
                if (result.EndOfMessage) return System.Text.Encoding.UTF8.GetString(message.ToArray());
            }
        }

        public async Task CloseAsync()
        {
            try
            {
                if (_socket.State == System.Net.WebSockets.WebSocketState.Open)
                {
                    await _socket.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
                }
            }
            catch (Exception)
            {
                // closing a broken socket: nothing left to do
            }
        }

        public void Dispose()
        {
            _socket.Dispose();
        }
    }
#endif

    /// <summary>A server message: <c>type</c> says what <c>data</c> holds.</summary>
    [Preserve]
    public sealed class RealtimeMessage
    {
        [Preserve] public string Type;
        [Preserve] public string SentAt;
        [Preserve] public JObject Data;
    }

    [Preserve]
    public sealed class MatchFound
    {
        [Preserve] public string MatchId;
        [Preserve] public string Queue;
        [Preserve] public string Region;
        /// <summary>This player's ticket in the match.</summary>
        [Preserve] public string TicketId;
        [Preserve] public List<List<string>> Teams = new List<List<string>>();
        [Preserve] public List<string> Players = new List<string>();
        [Preserve] public string NotificationId;
    }

    [Preserve]
    public sealed class AchievementUnlocked
    {
        [Preserve] public string AchievementId;
        [Preserve] public string Title;
        [Preserve] public string Description;
        [Preserve] public int Points;
        [Preserve] public string NotificationId;
    }

    [Preserve]
    public sealed class TicketTimedOut
    {
        [Preserve] public string TicketId;
        [Preserve] public string Queue;
        [Preserve] public string Region;
    }

    [Preserve]
    public sealed class PeriodClosed
    {
        [Preserve] public string Board;
        [Preserve] public string Period;
        [Preserve] public int Rank;
        [Preserve] public double Score;
        [Preserve] public string NotificationId;
    }

    public enum RealtimeState
    {
        Stopped,
        Connecting,
        Connected,
        /// <summary>Lost or not yet reached: reconnecting after a backoff (matchmaking polls meanwhile).</summary>
        Reconnecting,
        /// <summary>Refused for good (a banned or deleted account): no more attempts.</summary>
        Refused,
    }

    public sealed class RealtimeOptions
    {
        /// <summary>The WebSocket URL (`make run` prints it; deployed, the stack's WebsocketConnectEndpointURL).</summary>
        public string Url = "ws://127.0.0.1:8001/api";
        /// <summary>A ping this often keeps the connection within API Gateway's 10-minute idle timeout.</summary>
        public TimeSpan Heartbeat = TimeSpan.FromMinutes(4);
        public TimeSpan ReconnectBase = TimeSpan.FromSeconds(1);
        public TimeSpan ReconnectMax = TimeSpan.FromSeconds(30);

        /// <summary>Throws ArgumentException unless Url is an absolute ws(s):// URL, wss:// outside Local.</summary>
        public void Validate(BackendEnvironment environment)
        {
            Uri uri;
            if (string.IsNullOrEmpty(Url) || !Uri.TryCreate(Url, UriKind.Absolute, out uri) || (uri.Scheme != "ws" && uri.Scheme != "wss"))
            {
                throw new ArgumentException("the realtime Url must be an absolute ws(s):// URL, got '" + Url + "'");
            }
            if (environment != BackendEnvironment.Local && uri.Scheme != "wss")
            {
                throw new ArgumentException(environment + " requires a wss:// realtime Url (plain ws is for Local only), got '" + Url + "'");
            }
        }
    }

    /// <summary>
    /// One realtime connection for a signed-in client: connects with the client's token, pings
    /// on a heartbeat, reconnects with backoff and jitter, and raises typed events. Start it from
    /// the main thread: the events are raised where the awaits resume, on Unity's main thread.
    /// </summary>
    public sealed class RealtimeConnection
    {
        private readonly BackendClient _client;
        private readonly IWebSocketFactory _sockets;
        private readonly Backoff _backoff;
        private readonly Dictionary<string, RealtimeMessage> _tickets = new Dictionary<string, RealtimeMessage>();
        private readonly List<KeyValuePair<string, TaskCompletionSource<RealtimeMessage>>> _ticketWaiters =
            new List<KeyValuePair<string, TaskCompletionSource<RealtimeMessage>>>();
        private TaskCompletionSource<bool> _stateChange = new TaskCompletionSource<bool>();
        private CancellationTokenSource _stop;
        private RealtimeState _state = RealtimeState.Stopped;

        public RealtimeOptions Options { get; private set; }

        public event Action<RealtimeState> StateChanged;
        public event Action<MatchFound> OnMatchFound;
        public event Action<Notification> OnNotification;
        public event Action<AchievementUnlocked> OnAchievementUnlocked;
        public event Action<TicketTimedOut> OnTicketTimedOut;
        public event Action<PeriodClosed> OnPeriodClosed;
        /// <summary>Every message, typed or not (pongs included).</summary>
        public event Action<RealtimeMessage> OnMessage;

        public RealtimeConnection(BackendClient client, RealtimeOptions options = null, IWebSocketFactory sockets = null, Backoff backoff = null)
        {
            _client = client;
            Options = options ?? new RealtimeOptions();
            _sockets = sockets ?? WebSockets.Default;
            _backoff = backoff ?? new Backoff { Base = Options.ReconnectBase, Max = Options.ReconnectMax };
        }

        public RealtimeState State
        {
            get { return _state; }
        }

        public bool IsConnected
        {
            get { return _state == RealtimeState.Connected; }
        }

        /// <summary>How many times it has connected: a new number means pushes may have been missed in between.</summary>
        public int Connections { get; private set; }

        /// <summary>Completes at the next change of <see cref="State"/>.</summary>
        public Task NextStateChange
        {
            get { return _stateChange.Task; }
        }

        /// <summary>Connect and stay connected until <see cref="Stop"/> (or a refusal for good). Returns when it stops.</summary>
        public async Task RunAsync(CancellationToken ct = default(CancellationToken))
        {
            if (_stop != null) throw new InvalidOperationException("already running");
            _stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var token = _stop.Token;
            var attempt = 0;
            var refusals = 0;
            try
            {
                while (!token.IsCancellationRequested)
                {
                    SetState(attempt == 0 ? RealtimeState.Connecting : RealtimeState.Reconnecting);
                    try
                    {
                        await SessionAsync(token, () => { attempt = 0; refusals = 0; });
                    }
                    catch (WebSocketRefusedException e)
                    {
                        // 401 once: the token may have just expired; refresh (the client knows a
                        // deleted or banned account from that refresh) and try again. Twice, or 403: stop.
                        refusals++;
                        if (e.Status == 403 || refusals > 1)
                        {
                            SetState(RealtimeState.Refused);
                            return;
                        }
                        try
                        {
                            await _client.RefreshAsync(token);
                        }
                        catch (BackendException)
                        {
                            if (_client.State == AuthState.Banned || _client.State == AuthState.Deleted)
                            {
                                SetState(RealtimeState.Refused);
                                return;
                            }
                        }
                    }
                    catch (OperationCanceledException)
                    {
                        if (token.IsCancellationRequested) break;
                    }
                    catch (Exception)
                    {
                        // network trouble: back off and reconnect
                    }
                    if (token.IsCancellationRequested) break;
                    SetState(RealtimeState.Reconnecting);
                    try
                    {
                        await _client.Time.Delay(_backoff.Next(attempt++), token);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
            }
            finally
            {
                _stop = null;
                if (_state != RealtimeState.Refused) SetState(RealtimeState.Stopped);
            }
        }

        public void Stop()
        {
            if (_stop != null) _stop.Cancel();
        }

        private async Task SessionAsync(CancellationToken token, Action connected)
        {
            if (!_client.IsSignedIn) throw new SignInRequiredException("sign in before connecting");
            if (_client.Time.UtcNow + _client.Options.RefreshMargin >= _client.TokenExpiresAt) await _client.RefreshAsync(token);
            var url = Options.Url;
            string authorization = "Bearer " + _client.IdToken;
            if (!_sockets.SupportsHeaders)
            {
                url += (url.Contains("?") ? "&" : "?") + "token=" + Uri.EscapeDataString(_client.IdToken);
                authorization = null;
            }
            using (var socket = _sockets.Create())
            using (var session = CancellationTokenSource.CreateLinkedTokenSource(token))
            {
                await socket.ConnectAsync(new Uri(url), authorization, token);
                connected();
                Connections++;
                SetState(RealtimeState.Connected);
                var heartbeat = HeartbeatAsync(socket, session.Token);
                try
                {
                    while (true)
                    {
                        var text = await socket.ReceiveAsync(token);
                        if (text == null) break;
                        Dispatch(text);
                    }
                }
                finally
                {
                    session.Cancel();
                    try
                    {
                        await heartbeat;
                    }
                    catch (Exception)
                    {
                        // the heartbeat ends with the session
                    }
                    await socket.CloseAsync();
                }
            }
        }

        private async Task HeartbeatAsync(IWebSocket socket, CancellationToken ct)
        {
            while (!ct.IsCancellationRequested)
            {
                await _client.Time.Delay(Options.Heartbeat, ct);
                await socket.SendAsync("{\"action\":\"ping\"}", ct);
            }
        }

        /// <summary>Raise the events of one server message (public for tests and custom transports).</summary>
        public void Dispatch(string text)
        {
            RealtimeMessage message;
            try
            {
                message = Json.Deserialize<RealtimeMessage>(text);
            }
            catch (Exception)
            {
                return;  // not ours: ignore it
            }
            if (message == null || message.Type == null) return;
            var data = message.Data ?? new JObject();
            var raw = OnMessage;
            if (raw != null) raw(message);
            switch (message.Type)
            {
                case "match_found":
                    var match = Json.Convert<MatchFound>(data);
                    Remember(match.TicketId, message);
                    if (OnMatchFound != null) OnMatchFound(match);
                    break;
                case "ticket_timed_out":
                    var timedOut = Json.Convert<TicketTimedOut>(data);
                    Remember(timedOut.TicketId, message);
                    if (OnTicketTimedOut != null) OnTicketTimedOut(timedOut);
                    break;
                case "notification":
                    if (OnNotification != null) OnNotification(Json.Convert<Notification>(data));
                    break;
                case "achievement_unlocked":
                    if (OnAchievementUnlocked != null) OnAchievementUnlocked(Json.Convert<AchievementUnlocked>(data));
                    break;
                case "period_closed":
                    if (OnPeriodClosed != null) OnPeriodClosed(Json.Convert<PeriodClosed>(data));
                    break;
            }
        }

        /// <summary>The `match_found` or `ticket_timed_out` for a ticket: at once if it already came.</summary>
        public Task<RealtimeMessage> TicketOutcome(string ticketId)
        {
            RealtimeMessage known;
            if (ticketId != null && _tickets.TryGetValue(ticketId, out known)) return Task.FromResult(known);
            var waiter = new TaskCompletionSource<RealtimeMessage>();
            _ticketWaiters.Add(new KeyValuePair<string, TaskCompletionSource<RealtimeMessage>>(ticketId, waiter));
            return waiter.Task;
        }

        private void Remember(string ticketId, RealtimeMessage message)
        {
            if (ticketId == null) return;
            if (_tickets.Count > 64) _tickets.Clear();
            _tickets[ticketId] = message;
            for (var i = _ticketWaiters.Count - 1; i >= 0; i--)
            {
                if (_ticketWaiters[i].Key != ticketId) continue;
                var waiter = _ticketWaiters[i].Value;
                _ticketWaiters.RemoveAt(i);
                waiter.TrySetResult(message);
            }
        }

        private void SetState(RealtimeState state)
        {
            if (_state == state) return;
            _state = state;
            var changed = _stateChange;
            _stateChange = new TaskCompletionSource<bool>();
            changed.TrySetResult(true);
            var handler = StateChanged;
            if (handler != null) handler(state);
        }
    }
}

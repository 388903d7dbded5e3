using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace GameBackend.Tests
{
    /// <summary>
    /// A single-threaded synchronisation context like Unity's main thread: continuations posted to
    /// it run one at a time on the thread that called Run. Code under test that leaves it (a
    /// ConfigureAwait(false), a Task.Run, a callback on a pool thread) and then touches a "Unity"
    /// API (the fake transport, clock and stores call <see cref="Check"/>) is recorded as a
    /// violation, and Sync fails the test.
    /// </summary>
    public sealed class MainThreadContext : SynchronizationContext
    {
        private readonly Queue<KeyValuePair<SendOrPostCallback, object>> _queue = new Queue<KeyValuePair<SendOrPostCallback, object>>();
        private readonly Thread _thread = Thread.CurrentThread;
        private static readonly List<string> _violations = new List<string>();
        [ThreadStatic] private static MainThreadContext _running;

        public int Posted { get; private set; }

        public override void Post(SendOrPostCallback d, object state)
        {
            lock (_queue)
            {
                _queue.Enqueue(new KeyValuePair<SendOrPostCallback, object>(d, state));
                Posted++;
                Monitor.Pulse(_queue);
            }
        }

        public override void Send(SendOrPostCallback d, object state)
        {
            if (Thread.CurrentThread != _thread) throw new InvalidOperationException("Send from another thread would block the main thread");
            d(state);
        }

        public override SynchronizationContext CreateCopy()
        {
            return this;
        }

        /// <summary>Run the body on this thread, pumping posted continuations until its task ends.</summary>
        public void Run(Func<Task> body)
        {
            var previous = Current;
            SetSynchronizationContext(this);
            _running = this;
            try
            {
                var task = body();
                task.ContinueWith(_ => { lock (_queue) Monitor.Pulse(_queue); }, TaskContinuationOptions.ExecuteSynchronously);
                while (true)
                {
                    KeyValuePair<SendOrPostCallback, object> next;
                    lock (_queue)
                    {
                        while (_queue.Count == 0 && !task.IsCompleted) Monitor.Wait(_queue);
                        if (_queue.Count == 0) break;
                        next = _queue.Dequeue();
                    }
                    next.Key(next.Value);
                }
                task.GetAwaiter().GetResult();
            }
            finally
            {
                _running = null;
                SetSynchronizationContext(previous);
            }
        }

        /// <summary>Called by every fake "Unity API": records a violation unless on the main thread inside its context.</summary>
        public static void Check(string what)
        {
            if (_running != null && Current == _running) return;
            lock (_violations)
            {
                _violations.Add(what + " on thread " + Thread.CurrentThread.ManagedThreadId + " (context " + (Current == null ? "none" : Current.GetType().Name) + ")");
            }
        }

        public static List<string> TakeViolations()
        {
            lock (_violations)
            {
                var taken = new List<string>(_violations);
                _violations.Clear();
                return taken;
            }
        }
    }

    /// <summary>Runs async test bodies to the end on a single-threaded context (as Unity's main thread), failing on any violation.</summary>
    public static class Sync
    {
        public static void Run(Func<Task> body)
        {
            MainThreadContext.TakeViolations();
            try
            {
                new MainThreadContext().Run(body);
            }
            finally
            {
                var violations = MainThreadContext.TakeViolations();
                if (violations.Count > 0) Assert.Fail("left the main-thread context: " + string.Join("; ", violations.ToArray()));
            }
        }

        public static T RunResult<T>(Func<Task<T>> body)
        {
            var result = default(T);
            Run(async () => { result = await body(); });
            return result;
        }

        public static T Throws<T>(Func<Task> body) where T : Exception
        {
            try
            {
                Run(body);
            }
            catch (T expected)
            {
                return expected;
            }
            catch (Exception other)
            {
                Assert.Fail("expected " + typeof(T).Name + ", got " + other.GetType().Name + ": " + other.Message);
            }
            Assert.Fail("expected " + typeof(T).Name + ", nothing was thrown");
            return null;
        }
    }

    /// <summary>Wraps a transport (the real HttpClient one in end-to-end tests) and checks each call is made from the main-thread context.</summary>
    public sealed class MainThreadTransport : ITransport
    {
        private readonly ITransport _inner;

        public MainThreadTransport(ITransport inner)
        {
            _inner = inner;
        }

        public async Task<HttpResponseData> SendAsync(HttpRequestData request, CancellationToken cancellationToken)
        {
            MainThreadContext.Check("transport " + request.Method + " " + request.Url);
            return await _inner.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>A journal that counts its calls, over another one.</summary>
    public sealed class CountingJournal : IEventJournal
    {
        private readonly IEventJournal _inner;
        public int Appends;
        public int Rewrites;
        public int Reads;

        public CountingJournal(IEventJournal inner)
        {
            _inner = inner;
        }

        public List<string> ReadAll()
        {
            Reads++;
            return _inner.ReadAll();
        }

        public void Append(string line)
        {
            MainThreadContext.Check("journal append");
            Appends++;
            _inner.Append(line);
        }

        public void Rewrite(IList<string> lines)
        {
            MainThreadContext.Check("journal rewrite");
            Rewrites++;
            _inner.Rewrite(lines);
        }
    }

    /// <summary>A clock the test moves by hand; Delay records the wait and moves the clock instead of sleeping.</summary>
    public sealed class FakeTime : ITimeSource
    {
        public DateTime Now = new DateTime(2030, 1, 1, 12, 0, 0, DateTimeKind.Utc);
        public readonly List<TimeSpan> Delays = new List<TimeSpan>();

        public DateTime UtcNow
        {
            get { lock (Delays) return Now; }
        }

        public Task Delay(TimeSpan delay, CancellationToken cancellationToken)
        {
            MainThreadContext.Check("delay");
            cancellationToken.ThrowIfCancellationRequested();
            lock (Delays)
            {
                Delays.Add(delay);
                Now += delay;
            }
            return Task.FromResult(0);
        }
    }

    /// <summary>
    /// A transport answering from a script: a function of the request, every request recorded.
    /// Like UnityWebRequest it must be called on the main thread, and it answers asynchronously (a
    /// continuation posted to the context), so concurrent callers interleave as they do in a game.
    /// </summary>
    public sealed class FakeTransport : ITransport
    {
        public readonly List<HttpRequestData> Requests = new List<HttpRequestData>();
        public Func<HttpRequestData, HttpResponseData> Handler;

        public FakeTransport(Func<HttpRequestData, HttpResponseData> handler)
        {
            Handler = handler;
        }

        public async Task<HttpResponseData> SendAsync(HttpRequestData request, CancellationToken cancellationToken)
        {
            MainThreadContext.Check("transport " + request.Method + " " + request.Url);
            lock (Requests) Requests.Add(request);
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            return Handler(request);
        }

        public static HttpResponseData Answer(int status, string body, params string[] headers)
        {
            var response = new HttpResponseData { Status = status, Body = body };
            for (var i = 0; i + 1 < headers.Length; i += 2) response.Headers[headers[i]] = headers[i + 1];
            return response;
        }

        public List<string> Paths()
        {
            var paths = new List<string>();
            lock (Requests)
            {
                foreach (var r in Requests) paths.Add(r.Method + " " + new Uri(r.Url).PathAndQuery);
            }
            return paths;
        }
    }

    /// <summary>
    /// Wraps a real transport and breaks chosen requests: the first <see cref="Failures"/> requests
    /// matching <see cref="Matches"/> throw a NetworkException, either before sending or after the
    /// server has answered (a lost response: the server did the work, the client never heard).
    /// </summary>
    public sealed class FlakyTransport : ITransport
    {
        private readonly ITransport _inner;
        public Func<HttpRequestData, bool> Matches = r => true;
        public int Failures = 1;
        public bool LoseResponse;
        public Func<HttpRequestData, HttpRequestData> Rewrite;
        public int Sent;
        public int Broken;

        public FlakyTransport(ITransport inner)
        {
            _inner = inner;
        }

        public async Task<HttpResponseData> SendAsync(HttpRequestData request, CancellationToken cancellationToken)
        {
            var match = Matches(request);
            bool fail;
            lock (this)
            {
                fail = match && Broken < Failures;
                if (fail) Broken++;
            }
            if (fail && Rewrite != null)
            {
                request = Rewrite(request);
                fail = false;
            }
            if (fail && !LoseResponse) throw new NetworkException("injected: connection reset before sending");
            var response = await _inner.SendAsync(request, cancellationToken);
            lock (this) Sent++;
            if (fail) throw new NetworkException("injected: connection reset after the server answered " + response.Status);
            return response;
        }
    }
}

namespace GameBackend.Tests
{
    /// <summary>Records the method and path of every request that goes through it.</summary>
    public sealed class RecordingTransport : ITransport
    {
        private readonly ITransport _inner;
        public readonly List<string> Calls = new List<string>();
        /// <summary>The Idempotency-Key of each call, null when it had none.</summary>
        public readonly List<string> Keys = new List<string>();

        public RecordingTransport(ITransport inner)
        {
            _inner = inner;
        }

        public Task<HttpResponseData> SendAsync(HttpRequestData request, CancellationToken cancellationToken)
        {
            string key;
            lock (Calls)
            {
                Calls.Add(request.Method + " " + new Uri(request.Url).AbsolutePath);
                Keys.Add(request.Headers.TryGetValue(BackendClient.IdempotencyHeader, out key) ? key : null);
            }
            return _inner.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>A reversible stand-in for a platform protector, so a test can see what reaches the store.</summary>
    public sealed class ReversingProtector : ICredentialProtector
    {
        public string Scheme
        {
            get { return "test"; }
        }

        public string Protect(string plain)
        {
            return Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(Reverse(plain)));
        }

        public string Unprotect(string stored)
        {
            return Reverse(System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(stored)));
        }

        private static string Reverse(string s)
        {
            var chars = s.ToCharArray();
            Array.Reverse(chars);
            return new string(chars);
        }
    }
}

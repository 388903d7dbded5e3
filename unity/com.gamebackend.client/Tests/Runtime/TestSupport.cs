using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace GameBackend.Tests
{
    /// <summary>Runs async test bodies synchronously, off any main-thread context (the Unity editor's included).</summary>
    public static class Sync
    {
        public static void Run(Func<Task> body)
        {
            Task.Run(body).GetAwaiter().GetResult();
        }

        public static T RunResult<T>(Func<Task<T>> body)
        {
            return Task.Run(body).GetAwaiter().GetResult();
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
            lock (Delays)
            {
                Delays.Add(delay);
                Now += delay;
            }
            return Task.FromResult(0);
        }
    }

    /// <summary>A transport answering from a script: a function of the request, every request recorded.</summary>
    public sealed class FakeTransport : ITransport
    {
        public readonly List<HttpRequestData> Requests = new List<HttpRequestData>();
        public Func<HttpRequestData, HttpResponseData> Handler;

        public FakeTransport(Func<HttpRequestData, HttpResponseData> handler)
        {
            Handler = handler;
        }

        public Task<HttpResponseData> SendAsync(HttpRequestData request, CancellationToken cancellationToken)
        {
            lock (Requests) Requests.Add(request);
            return Task.FromResult(Handler(request));
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

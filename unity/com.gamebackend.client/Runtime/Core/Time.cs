using System;
using System.Threading;
using System.Threading.Tasks;

namespace GameBackend
{
    /// <summary>The clock and the waits the client uses; tests swap it for a fake that records delays.</summary>
    public interface ITimeSource
    {
        DateTime UtcNow { get; }
        Task Delay(TimeSpan delay, CancellationToken cancellationToken);
    }

    /// <summary>
    /// The time source a client gets when none is given. In Unity the Unity layer sets it, before
    /// the first scene loads, to a clock whose waits are driven by the player loop (no thread, no
    /// Task.Delay, so WebGL works); elsewhere it is <see cref="SystemTime"/>. Player builds have no
    /// SystemTime at all.
    /// </summary>
    public static class TimeSources
    {
        private static ITimeSource _default;

        public static ITimeSource Default
        {
            get
            {
                if (_default != null) return _default;
#if !UNITY_5_3_OR_NEWER || UNITY_EDITOR || UNITY_SERVER
                return SystemTime.Instance;
#else
                throw new InvalidOperationException("no time source: GameBackend.Unity sets one when the player starts; pass an ITimeSource to BackendClient");
#endif
            }
            set { _default = value; }
        }
    }

// Outside Unity, in the editor and in dedicated server builds only.
#if !UNITY_5_3_OR_NEWER || UNITY_EDITOR || UNITY_SERVER
    /// <summary>The system clock and Task.Delay: editor tools, dedicated servers, tests. Never in a player build.</summary>
    public sealed class SystemTime : ITimeSource
    {
        public static readonly SystemTime Instance = new SystemTime();

        public DateTime UtcNow
        {
            get { return DateTime.UtcNow; }
        }

        public Task Delay(TimeSpan delay, CancellationToken cancellationToken)
        {
            return delay <= TimeSpan.Zero ? Task.FromResult(0) : Task.Delay(delay, cancellationToken);
        }
    }
#endif

    /// <summary>Exponential backoff with full jitter: a random wait in [0, min(max, base * 2^attempt)].</summary>
    public sealed class Backoff
    {
        public TimeSpan Base = TimeSpan.FromSeconds(1);
        public TimeSpan Max = TimeSpan.FromSeconds(60);
        private readonly Random _random;
        private readonly object _lock = new object();

        public Backoff(Random random = null)
        {
            _random = random ?? new Random();
        }

        /// <summary>The wait before retry number <paramref name="attempt"/> (0 for the first retry).</summary>
        public TimeSpan Next(int attempt)
        {
            var cap = Math.Min(Max.TotalMilliseconds, Base.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 30)));
            double fraction;
            lock (_lock) fraction = _random.NextDouble();
            return TimeSpan.FromMilliseconds(cap * fraction);
        }

        /// <summary>The server's Retry-After when it gave one (never less), else the jittered backoff.</summary>
        public TimeSpan Next(int attempt, TimeSpan? retryAfter)
        {
            var wait = Next(attempt);
            return retryAfter.HasValue && retryAfter.Value > wait ? retryAfter.Value : wait;
        }
    }
}

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

// Runs the package's NUnit-attributed tests outside Unity, with nothing but Mono: every public
// [Test] method of every [TestFixture] class, in declaration order. Prints one line per test and
// a closing "N passed, N failed, N skipped". Exit code 1 when a test failed or none ran.
// Arguments: names (or prefixes) of fixtures or tests to run; none runs all.
using System;
using System.Diagnostics;
using System.Linq;
using System.Reflection;
using NUnit.Framework;

public static class TestRunner
{
    public static int Main(string[] args)
    {
        int passed = 0, failed = 0, skipped = 0;
        var fixtures = typeof(GameBackend.Tests.Sync).Assembly.GetTypes()
            .Where(t => t.GetCustomAttributes(typeof(TestFixtureAttribute), true).Length > 0)
            .OrderBy(t => t.FullName, StringComparer.Ordinal);
        foreach (var fixture in fixtures)
        {
            var tests = fixture.GetMethods(BindingFlags.Public | BindingFlags.Instance)
                .Where(m => m.GetCustomAttributes(typeof(TestAttribute), true).Length > 0)
                .OrderBy(m => m.MetadataToken);
            foreach (var test in tests)
            {
                var name = fixture.Name + "." + test.Name;
                if (args.Length > 0 && !args.Any(a => name.StartsWith(a, StringComparison.Ordinal))) continue;
                var clock = Stopwatch.StartNew();
                try
                {
                    test.Invoke(Activator.CreateInstance(fixture), null);
                    passed++;
                    Console.WriteLine("PASS " + name + " (" + clock.ElapsedMilliseconds + " ms)");
                }
                catch (TargetInvocationException wrapped)
                {
                    var error = wrapped.InnerException;
                    if (error is IgnoreException)
                    {
                        skipped++;
                        Console.WriteLine("SKIP " + name + ": " + error.Message);
                    }
                    else
                    {
                        failed++;
                        Console.WriteLine("FAIL " + name + ": " + error.GetType().Name + ": " + error.Message);
                        Console.WriteLine(error.StackTrace);
                    }
                }
            }
        }
        Console.WriteLine(passed + " passed, " + failed + " failed, " + skipped + " skipped");
        return failed > 0 || passed == 0 ? 1 : 0;
    }
}

using Xunit.Abstractions;

namespace JowiShop.Tests.Cluster;

/// <summary>
/// The fault tests' figures (errors seen by clients, recovery times): written to the test output
/// and appended to .data/fault-report.txt, which ./run-tests prints at the end. Figures, not asserts.
/// </summary>
public static class FaultReport
{
    private static readonly object Gate = new();

    public static string FilePath => Path.Combine(Infrastructure.LocalServices.RepositoryRoot, ".data", "fault-report.txt");

    public static void Write(ITestOutputHelper output, string test, string line)
    {
        output.WriteLine(line);
        lock (Gate)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
            File.AppendAllText(FilePath, $"{test}: {line}{Environment.NewLine}");
        }
    }

    /// <summary>Polls until the condition holds; throws with the reason after the deadline.</summary>
    public static async Task UntilAsync(Func<bool> condition, TimeSpan deadline, Func<string> reason)
    {
        var until = DateTime.UtcNow + deadline;
        while (!condition())
        {
            if (DateTime.UtcNow > until)
                throw new TimeoutException($"Not within {deadline}: {reason()}");
            await Task.Delay(50);
        }
    }
}

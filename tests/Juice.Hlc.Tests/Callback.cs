namespace Juice.Hlc.Tests;

/// <summary>
/// An <see cref="IProgress{T}"/> that calls back at once on the reporting thread (<see cref="Progress{T}"/> posts to the
/// thread pool, so a test could not act on a report before the next one).
/// </summary>
internal sealed class Callback<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}

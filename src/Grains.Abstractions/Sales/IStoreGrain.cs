namespace JowiShop.Grains.Abstractions.Sales;

/// <summary>
/// One grain per store (key: store id + tenant id as key extension): the only writer of the
/// store's receipts, stock levels and batches. It numbers sales gaplessly, takes them out of
/// stock FIFO, and commits every sale that arrives during a commit together in the next one.
/// </summary>
public interface IStoreGrain : IGrainWithGuidCompoundKey
{
    Task<SaleResult> SellAsync(SaleCommand sale);

    [Orleans.Concurrency.ReadOnly]
    Task<decimal?> GetStockLevelAsync(Guid variantId);
}

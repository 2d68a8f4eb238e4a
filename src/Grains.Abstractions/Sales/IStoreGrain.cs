namespace JowiShop.Grains.Abstractions.Sales;

/// <summary>
/// One grain per store (key: store id + tenant id as key extension): the only writer of the
/// store's receipts, stock levels and batches. It numbers sales gaplessly, takes them out of
/// stock FIFO, and commits every sale that arrives during a commit together in the next one.
/// </summary>
public interface IStoreGrain : IGrainWithGuidCompoundKey
{
    /// <summary>
    /// The sale path: checks the terminal and customer, prices the lines from the store's catalog
    /// cache (kept exact by the tenant's catalog cursor), judges discounts, then sells. Refusals
    /// answer Invalid (400), DiscountForbidden (403) or StoreNotFound (404).
    /// </summary>
    Task<SaleResult> RingUpAsync(SaleOrder order);

    /// <summary>A sale priced by its caller (the previous release's API during a rolling upgrade; tests).</summary>
    Task<SaleResult> SellAsync(SaleCommand sale);

    /// <summary>A refund of lines of one of this store's receipts: its own RF- sequence, restocked at the original cost.</summary>
    Task<SaleResult> RefundAsync(RefundCommand refund);

    Task<StockResult> ReceiveAsync(StockReceiving receiving);

    Task<StockResult> AdjustAsync(StockAdjustment adjustment);

    /// <summary>Sending side of a transfer (at its from-store): takes the lines out FIFO and returns the lots with their costs.</summary>
    Task<StockResult> SendTransferAsync(StockTransfer transfer);

    /// <summary>
    /// Receiving side of a transfer (at its to-store): the lots recorded when it was sent become batches at the
    /// sender's costs. Once per transfer id, and only at the store the transfer was sent to.
    /// </summary>
    Task<StockResult> ReceiveTransferAsync(StockTransfer transfer);
}

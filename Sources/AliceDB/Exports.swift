// The engine's API speaks the format's vocabulary (ErrorBound, SegmentSummary, SegmentBatch,
// AliceDBError, …): whoever imports the engine sees it too.
@_exported public import AliceFormat

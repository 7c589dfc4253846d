internal import AliceFormat

/// Where a segment is: the key of the per-segment caches.
struct SegmentKey: Hashable {
    var file: UInt64
    var offset: Int
}

/// A cache bounded by the total weight of its values (FIFO eviction).
struct BoundedCache<Key: Hashable, Value> {
    let maxWeight: Int
    let weight: (Value) -> Int
    private var entries: [Key: Value] = [:]
    private var order: [Key] = []
    private var head = 0
    private var total = 0

    init(maxWeight: Int, weight: @escaping (Value) -> Int) {
        self.maxWeight = maxWeight
        self.weight = weight
    }

    subscript(key: Key) -> Value? { entries[key] }

    mutating func insert(_ key: Key, _ value: Value) {
        guard entries[key] == nil, weight(value) <= maxWeight else { return }
        entries[key] = value
        order.append(key)
        total += weight(value)
        while total > maxWeight && head < order.count {
            let old = order[head]
            head += 1
            if let e = entries.removeValue(forKey: old) { total -= weight(e) }
        }
        if head > 1024 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }

    mutating func removeAll() {
        entries = [:]
        order = []
        head = 0
        total = 0
    }
}

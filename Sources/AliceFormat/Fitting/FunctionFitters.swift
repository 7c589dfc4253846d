/// The closed-form fitters of the competition. Each proposes a model and the longest prefix
/// of the points (from `start`) that the model reproduces within the bound, checked with the
/// decoder's own evaluation.
package struct FunctionFitters {
    let ts: UnsafeBufferPointer<Int64>
    let values: UnsafeBufferPointer<Double>
    let bound: ErrorBound

    package init(ts: UnsafeBufferPointer<Int64>, values: UnsafeBufferPointer<Double>, bound: ErrorBound) {
        self.ts = ts
        self.values = values
        self.bound = bound
    }

    /// How many points from `start` (at most `limit`) `model` reproduces within the bound.
    package func acceptedPrefix(_ model: FunctionModel, start: Int, limit: Int) -> Int {
        let t0 = ts[start]
        var i = start
        let end = start + limit
        while i < end && bound.accepts(original: values[i], stored: model.evaluate(ts[i] &- t0)) { i += 1 }
        return i - start
    }

    /// PMC-mean: the midpoint of the running intersection of every point's allowed interval.
    package func constant(start: Int, limit: Int) -> (FunctionModel, Int)? {
        let first = values[start]
        if bound.isLossless || !first.isFinite {
            var i = start + 1
            while i < start + limit && values[i].bitPattern == first.bitPattern { i += 1 }
            return (.constant(first), i - start)
        }
        var lo = -Double.infinity
        var hi = Double.infinity
        var i = start
        while i < start + limit {
            let x = values[i]
            guard x.isFinite else { break }
            let a = bound.allowed(x)
            let nlo = max(lo, x - a)
            let nhi = min(hi, x + a)
            if nlo > nhi { break }
            lo = nlo
            hi = nhi
            i += 1
        }
        let model = FunctionModel.constant(lo + (hi - lo) / 2)
        let n = acceptedPrefix(model, start: start, limit: i - start)
        return n > 0 ? (model, n) : nil
    }

    /// Swing filter: a line through the first point whose slope stays inside every point's cone.
    package func linear(start: Int, limit: Int) -> (FunctionModel, Int)? {
        guard limit >= 3 else { return nil }
        let t0 = ts[start]
        let v0 = values[start]
        guard v0.isFinite else { return nil }
        if bound.isLossless {
            let dt = ts[start + 1] &- t0
            guard dt > 0 else { return nil }
            let model = FunctionModel.linear(a: v0, b: (values[start + 1] - v0) / Double(dt))
            let n = acceptedPrefix(model, start: start, limit: limit)
            return n >= 3 ? (model, n) : nil
        }
        var sLo = -Double.infinity
        var sHi = Double.infinity
        var i = start + 1
        while i < start + limit {
            let x = values[i]
            guard x.isFinite else { break }
            let a = bound.allowed(x)
            let dt = Double(ts[i] &- t0)
            if dt <= 0 {
                if abs(x - v0) > a { break }
                i += 1
                continue
            }
            let nlo = max(sLo, (x - a - v0) / dt)
            let nhi = min(sHi, (x + a - v0) / dt)
            if nlo > nhi { break }
            sLo = nlo
            sHi = nhi
            i += 1
        }
        guard sLo.isFinite, sHi.isFinite else { return nil }
        let model = FunctionModel.linear(a: v0, b: sLo + (sHi - sLo) / 2)
        let n = acceptedPrefix(model, start: start, limit: i - start)
        return n >= 3 ? (model, n) : nil
    }

    /// Least-squares polynomial of `degree` on growing windows; the longest that passes.
    package func polynomial(degree: Int, start: Int, limit: Int) -> (FunctionModel, Int)? {
        guard !bound.isLossless, limit > 4 * (degree + 1) else { return nil }
        return longestWindow(start: start, limit: limit, minimum: 4 * (degree + 1)) { n in
            fitPolynomial(degree: degree, start: start, count: n)
        }
    }

    /// Doubling then bisection over window lengths; a model fitted on a window may cover more.
    private func longestWindow(
        start: Int, limit: Int, minimum: Int, fit: (Int) -> FunctionModel?
    ) -> (FunctionModel, Int)? {
        var best: (FunctionModel, Int)? = nil
        var n = minimum
        var failed = limit + 1
        var misses = 0
        while n <= limit {
            // Before a first success a short window may be too short to fit (a sine needs a period):
            // keep doubling a few times.
            guard let m = fit(n), case let covered = acceptedPrefix(m, start: start, limit: limit), covered >= n else {
                misses += 1
                if best == nil && misses < 5 && n < limit {
                    n = min(limit, n * 2)
                    continue
                }
                failed = n
                break
            }
            if best == nil || covered > best!.1 { best = (m, covered) }
            if covered >= limit { return best }
            n = max(n * 2, covered + 1)
            if n > limit && best!.1 < limit { n = limit }
            if n == best!.1 { break }
        }
        guard var (model, covered) = best else { return nil }
        var lo = covered
        var hi = min(failed, limit + 1)
        while hi - lo > max(8, lo / 16) {
            let mid = (lo + hi) / 2
            if let m = fit(mid) {
                let c = acceptedPrefix(m, start: start, limit: limit)
                if c >= mid {
                    if c > covered { (model, covered) = (m, c) }
                    lo = max(mid, c)
                    continue
                }
            }
            hi = mid
        }
        return (model, covered)
    }

    func fitPolynomial(degree: Int, start: Int, count: Int) -> FunctionModel? {
        let t0 = ts[start]
        let span = Double(ts[start + count - 1] &- t0)
        guard span > 0 else { return nil }
        let m = degree + 1
        var ata = [Double](repeating: 0, count: m * m)
        var atb = [Double](repeating: 0, count: m)
        var powers = [Double](repeating: 1, count: 2 * m)
        for i in start..<(start + count) {
            let y = values[i]
            guard y.isFinite else { return nil }
            let u = Double(ts[i] &- t0) / span
            powers[0] = 1
            for k in 1..<(2 * m) { powers[k] = powers[k - 1] * u }
            for r in 0..<m {
                atb[r] += powers[r] * y
                for c in 0..<m { ata[r * m + c] += powers[r + c] }
            }
        }
        guard let coefficients = LinearSolve.solve(ata, atb, size: m) else { return nil }
        return .polynomial(span: span, coefficients: coefficients)
    }
}

/// Gaussian elimination with partial pivoting for the small normal equations of the fitters.
package enum LinearSolve {
    package static func solve(_ matrix: [Double], _ rhs: [Double], size n: Int) -> [Double]? {
        var a = matrix
        var b = rhs
        for col in 0..<n {
            var pivot = col
            for r in (col + 1)..<n where abs(a[r * n + col]) > abs(a[pivot * n + col]) { pivot = r }
            guard abs(a[pivot * n + col]) > 1e-300 else { return nil }
            if pivot != col {
                for c in 0..<n { a.swapAt(col * n + c, pivot * n + c) }
                b.swapAt(col, pivot)
            }
            for r in (col + 1)..<n {
                let f = a[r * n + col] / a[col * n + col]
                if f == 0 { continue }
                for c in col..<n { a[r * n + c] -= f * a[col * n + c] }
                b[r] -= f * b[col]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for r in stride(from: n - 1, through: 0, by: -1) {
            var s = b[r]
            for c in (r + 1)..<n { s -= a[r * n + c] * x[c] }
            x[r] = s / a[r * n + r]
        }
        return x.allSatisfy(\.isFinite) ? x : nil
    }
}

import Foundation

/// Inline SVG charts for the report page: drawn from numbers alone, no scripts, no fonts or
/// images from anywhere. Every chart has a table of the same numbers beside it on the page.
enum SVGChart {
    /// Chart width in CSS pixels: fits an A4 page with its margins.
    static let width = 680.0

    /// One coloured series.
    struct Series {
        let name: String
        let colour: String
        let values: [Int]
    }

    /// Bars per category, each stacked from its series (bottom first), with a legend.
    static func stackedBars(categories: [String], series: [Series], label: String) -> String {
        let height = 200.0, left = 48.0, bottom = 22.0, top = 8.0
        let plotWidth = width - left - 8, plotHeight = height - bottom - top
        let totals = categories.indices.map { i in series.reduce(0) { $0 + ($1.values.indices.contains(i) ? $1.values[i] : 0) } }
        let maxTotal = max(1, totals.max() ?? 1)
        let step = plotWidth / Double(max(1, categories.count))
        var out = svgOpen(height: height + 24, label: label)
        out += axis(left: left, top: top, plotWidth: plotWidth, plotHeight: plotHeight, maxValue: maxTotal)
        for (i, _) in categories.enumerated() {
            var y = top + plotHeight
            for s in series {
                let value = s.values.indices.contains(i) ? s.values[i] : 0
                guard value > 0 else { continue }
                let h = plotHeight * Double(value) / Double(maxTotal)
                y -= h
                out += ##"<rect x="\##(f(left + Double(i) * step + step * 0.1))" y="\##(f(y))" width="\##(f(max(0.5, step * 0.8)))" height="\##(f(h))" fill="\##(s.colour)"/>"##
            }
        }
        if let first = categories.first {
            out += text(left, top + plotHeight + 14, first, anchor: "start")
            if categories.count > 1, let last = categories.last { out += text(left + plotWidth, top + plotHeight + 14, last, anchor: "end") }
        }
        out += legend(series.map { ($0.name, $0.colour) }, y: height + 14)
        return out + "</svg>"
    }

    /// One horizontal bar per row, with a dashed line at `threshold` (a target) when given.
    static func bars(rows: [(label: String, value: Double, colour: String)], threshold: (value: Double, label: String)?, unit: String,
                     label: String) -> String {
        let rowHeight = 20.0, left = 290.0, top = 6.0
        let plotWidth = width - left - 70
        let maxValue = max(rows.map(\.value).max() ?? 0, (threshold?.value ?? 0) * 1.25, 1e-9)
        let height = top + Double(rows.count) * rowHeight + (threshold == nil ? 6 : 22)
        var out = svgOpen(height: height, label: label)
        for (i, row) in rows.enumerated() {
            let y = top + Double(i) * rowHeight
            out += text(left - 6, y + 14, row.label.count > 46 ? "…" + row.label.suffix(45) : row.label, anchor: "end")
            let w = plotWidth * row.value / maxValue
            out += ##"<rect x="\##(f(left))" y="\##(f(y + 3))" width="\##(f(max(row.value > 0 ? 1 : 0, w)))" height="14" fill="\##(row.colour)"/>"##
            out += text(left + w + 4, y + 14, number(row.value) + unit, anchor: "start")
        }
        if let threshold {
            let x = left + plotWidth * threshold.value / maxValue
            let bottom = top + Double(rows.count) * rowHeight
            out += ##"<line x1="\##(f(x))" y1="\##(f(top))" x2="\##(f(x))" y2="\##(f(bottom))" stroke="#b00020" stroke-dasharray="4 3"/>"##
            out += text(x, bottom + 14, threshold.label, anchor: "middle", colour: "#b00020")
        }
        return out + "</svg>"
    }

    private static func svgOpen(height: Double, label: String) -> String {
        ##"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="\##(HTML.escape(label))" width="\##(f(width))" height="\##(f(height))" viewBox="0 0 \##(f(width)) \##(f(height))">"##
    }

    private static func axis(left: Double, top: Double, plotWidth: Double, plotHeight: Double, maxValue: Int) -> String {
        var out = ##"<line x1="\##(f(left))" y1="\##(f(top + plotHeight))" x2="\##(f(left + plotWidth))" y2="\##(f(top + plotHeight))" stroke="#888"/>"##
        out += ##"<line x1="\##(f(left))" y1="\##(f(top))" x2="\##(f(left))" y2="\##(f(top + plotHeight))" stroke="#888"/>"##
        out += text(left - 4, top + 9, String(maxValue), anchor: "end")
        out += text(left - 4, top + plotHeight, "0", anchor: "end")
        return out
    }

    private static func legend(_ entries: [(String, String)], y: Double) -> String {
        var x = 48.0
        var out = ""
        for (name, colour) in entries {
            out += ##"<rect x="\##(f(x))" y="\##(f(y - 9))" width="10" height="10" fill="\##(colour)"/>"##
            out += text(x + 14, y, name, anchor: "start")
            x += 24 + Double(name.count) * 6.5
        }
        return out
    }

    private static func text(_ x: Double, _ y: Double, _ content: String, anchor: String, colour: String = "#333") -> String {
        ##"<text x="\##(f(x))" y="\##(f(y))" text-anchor="\##(anchor)" font-size="11" fill="\##(colour)">\##(HTML.escape(content))</text>"##
    }

    private static func f(_ value: Double) -> String { String(format: "%.1f", value) }

    /// A value as shown next to its bar: whole numbers plainly, others to two places.
    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(format: "%.2f", value)
    }
}

/// Escaping for text placed in HTML (and in SVG inside it).
enum HTML {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}

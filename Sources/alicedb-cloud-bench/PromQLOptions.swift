import ArgumentParser

/// The PromQL phase's own options (`--promql-series`, `--promql-days`), grouped into the command's
/// so that they stay where they were on its command line and in its help.
struct PromQLOptions: ParsableArguments {
    @Option(help: "PromQL phase: 1 Hz series loaded into alicedb-cloud and Prometheus.") var promqlSeries = 100
    @Option(help: "PromQL phase: days of each series (the panels' range).") var promqlDays = 30
}

import AliceDB
import ArgumentParser

@main
struct AliceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "alicedb", abstract: "ALICE-DB")
}

import AgentHarness
import Foundation
import MQTT
import TestKit
import Testing

/// libmosquitto's result and CONNACK codes as typed values, and the errors that carry them.
@Suite struct MQTTErrorTests {
    @Test func errorCodesKeepLibmosquittosNumbersAndText() {
        // The numbers are libmosquitto's ABI (mosquitto.h), which does not change between releases.
        let named: [(MQTTErrorCode, Int32)] = [
            (.success, 0), (.outOfMemory, 1), (.protocolError, 2), (.invalidArgument, 3), (.noConnection, 4),
            (.connectionRefused, 5), (.notFound, 6), (.connectionLost, 7), (.tls, 8), (.payloadTooLarge, 9),
            (.notSupported, 10), (.authenticationFailed, 11), (.accessDenied, 12), (.unknown, 13), (.system, 14),
            (.hostLookup, 15), (.proxy, 16), (.malformedUTF8, 18), (.keepAlive, 19), (.malformedPacket, 21),
            (.tlsHandshake, 23), (.qosNotSupported, 24), (.oversizePacket, 25), (.timeout, 27),
            (.administrativeAction, 30),
        ]
        for (code, number) in named {
            #expect(code.rawValue == number)
            #expect(MQTTErrorCode(rawValue: number) == code)
        }
        #expect(MQTTErrorCode.connectionLost.description == "The connection was lost.")
        #expect(MQTTErrorCode.noConnection.description == "The client is not currently connected.")
        #expect(MQTTErrorCode.authenticationFailed.description == "Authorisation failed.")
        #expect(MQTTErrorCode.tls.description == "A TLS error occurred.")
        // Each named code has a text of its own (where libmosquitto 2.0 has none, ours).
        let texts = named.map(\.0.description)
        #expect(Set(texts).count == named.count, "\(texts)")
        // MOSQ_ERR_ERRNO's text is not whatever errno holds now.
        #expect(MQTTErrorCode.system.description == "A system call failed.")
        // A code this library does not name keeps its number.
        #expect(MQTTErrorCode(rawValue: 99).rawValue == 99 && MQTTErrorCode(rawValue: 99) != .unknown)
    }

    @Test func connackCodesOfBothProtocolVersions() {
        let named: [(MQTTConnackCode, Int32)] = [
            (.accepted, 0), (.unacceptableProtocolVersion, 1), (.identifierRejected, 2), (.serverUnavailable, 3),
            (.badUsernameOrPassword, 4), (.notAuthorized, 5), (.unspecifiedError, 128),
            (.unsupportedProtocolVersion, 132), (.clientIdentifierNotValid, 133), (.badUsernameOrPasswordMQTT5, 134),
            (.notAuthorizedMQTT5, 135), (.serverUnavailableMQTT5, 136), (.serverBusy, 137), (.banned, 138),
            (.badAuthenticationMethod, 140), (.quotaExceeded, 151), (.useAnotherServer, 156), (.serverMoved, 157),
            (.connectionRateExceeded, 159),
        ]
        for (code, number) in named { #expect(code.rawValue == number && MQTTConnackCode(rawValue: number) == code) }
        #expect(MQTTConnackCode.notAuthorized.description == "Connection Refused: not authorised.")
        #expect(MQTTConnackCode.badUsernameOrPassword.description == "Connection Refused: bad user name or password.")
        #expect(MQTTConnackCode.badUsernameOrPasswordMQTT5.description == "Bad User Name or Password")
        #expect(MQTTConnackCode.serverBusy.description == "Server busy")
        let refusals = named.filter(\.0.isAuthenticationFailure).map(\.1)
        #expect(refusals == [4, 5, 134, 135, 138, 140])
        let error = MQTTError(refusedBy: "127.0.0.1:1883", connack: .notAuthorizedMQTT5)
        #expect(error.code == .connectionRefused && error.isAuthenticationFailure)
        #expect(error.description == "mqtt://127.0.0.1:1883: connecting: Not authorized (CONNACK 135)")
    }

    @Test func optionsLibmosquittoRefusesNameTheBrokerAndTopic() {
        var o = MQTTOptions()
        o.port = 1884
        o.caFile = "/nonexistent/ca.pem"
        expectMQTTError(.invalidArgument, "mqtt://127.0.0.1:1884: TLS settings: ") {
            _ = try MQTTSession(options: o, subscriptions: [])
        }
        var will = MQTTOptions()
        will.host = "::1"
        will.statusTopic = "gw/+/status"  // a topic to publish to: no wildcards
        expectMQTTError(.invalidArgument, "mqtt://[::1]:1883 (topic gw/+/status): last will: ") {
            _ = try MQTTSession(options: will, subscriptions: [])
        }
    }

    /// A real mosquitto refusing a wrong password: the session's event says so, typed.
    @Test(arguments: [4, 5]) func aRefusedConnectionCarriesTheBrokersConnackCode(_ version: Int) async throws {
        let dir = TempDirectory()
        let passwords = dir.path + "/passwd"
        #expect(try spawnAndWait([Broker.find("mosquitto_passwd"), "-b", "-c", passwords, "gw", "s3cret"]) == 0)
        chmod(passwords, 0o644)
        let broker = try Broker(extraConfig: "allow_anonymous false\npassword_file \(passwords)\n")
        var o = MQTTOptions()
        o.port = broker.port
        o.clientID = "refused-\(version)"
        o.protocolVersion = version
        o.username = "gw"
        o.password = "wrong"
        let session = try MQTTSession(options: o, subscriptions: [])
        try session.start()
        let refusal = await withTaskGroup(of: MQTTError?.self) { group in
            group.addTask {
                for await event in session.events {
                    if case .disconnected(let error?) = event, error.connack != nil { return error }
                }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(10))
                session.stop()  // ends the events: the first task gives up
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        session.stop()
        let error = try #require(refusal, "no refusal in 10 s; broker log:\n\(broker.log)")
        #expect(error.code == .connectionRefused && error.isAuthenticationFailure)
        #expect(error.broker == "127.0.0.1:\(broker.port)")
        #expect(error.location.hasPrefix("MQTT/"))  // raised inside the wrapper, where it met the CONNACK
        let expected: [MQTTConnackCode] =
            version == 5
            ? [.notAuthorizedMQTT5, .badUsernameOrPasswordMQTT5] : [.notAuthorized, .badUsernameOrPassword]
        #expect(error.connack.map(expected.contains) == true, "\(error)")
        #expect(error.description.hasPrefix("mqtt://127.0.0.1:\(broker.port): connecting: "))
    }
}

/// Expects `body` to throw an `MQTTError` with `code` whose text starts with `prefix`.
func expectMQTTError(_ code: MQTTErrorCode, _ prefix: String, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected an MQTTError \(code)")
    } catch let error as MQTTError {
        #expect(error.code == code, "\(error)")
        #expect(error.description.hasPrefix(prefix), "\(error)")
    } catch {
        Issue.record("expected an MQTTError, got \(error)")
    }
}

internal import AliceDB
internal import Logging
internal import MQTT

/// Intake follows the disk: paused while the disk is full or the segment files are at their budget
/// (`on_full = "pause"`), so that the broker holds what the agent could not store.
extension Agent {
    /// Pauses or resumes intake as the database's disk status asks: after every hand-over of
    /// points (`flushPending`) and four times a second (`DiskBudgetService`).
    func checkDiskStatus() {
        let want = IntakePause(db.diskStatus)
        if let want {
            session?.pause()  // again each time: a session started by a reload begins unpaused
            if want.reason == intakePause?.reason {
                intakePause = want  // the figures move
                return
            }
            logger.warning(
                config.mqtt.cleanSession || config.mqtt.protocolVersion == 5
                    ? "intake paused; without a persistent session the broker drops what is published meanwhile"
                    : "intake paused; the broker holds new messages",
                metadata: ["why": "\(want.message)"])
            SystemdNotify.send("STATUS=\(want.message)")
        } else if let was = intakePause {
            session?.resume()
            logger.warning("intake resumed", metadata: ["was": "\(was.message)"])
            SystemdNotify.send("STATUS=ingesting")
        }
        intakePause = want
    }
}

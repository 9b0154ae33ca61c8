// kafkajs consumer group against a real rill broker: two consumers in one
// group read a topic the Go test filled, committing as they go, and print
// every value they processed, one per line ("value partition offset").
// Exits once COUNT distinct values were seen.
// Usage: node kafkajs_group.js HOST:PORT TOPIC GROUP COUNT
const { Kafka, logLevel } = require('kafkajs')

async function main() {
  const [broker, topic, groupId, countArg] = process.argv.slice(2)
  const count = parseInt(countArg, 10)
  const kafka = new Kafka({ clientId: 'rill-kafkajs-group', brokers: [broker], logLevel: logLevel.ERROR })
  const seen = new Set()
  let resolveDone
  const done = new Promise((resolve) => { resolveDone = resolve })
  const consumers = [0, 1].map(() => kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500 }))
  for (const consumer of consumers) {
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      autoCommitInterval: 100,
      eachMessage: async ({ partition, message }) => {
        const v = message.value.toString()
        process.stdout.write(`${v} ${partition} ${message.offset}\n`)
        seen.add(v)
        if (seen.size >= count) resolveDone()
      },
    })
  }
  const timer = setTimeout(() => { console.error(`timed out with ${seen.size} of ${count}`); process.exit(1) }, 60000)
  await done
  clearTimeout(timer)
  // disconnect commits what was processed and leaves the group.
  for (const consumer of consumers) await consumer.disconnect()
}

main().catch((err) => { console.error(err); process.exit(1) })

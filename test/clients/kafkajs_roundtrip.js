// kafkajs against a real rill broker: create a topic, produce keyed
// messages with headers through an idempotent producer (gzip and
// uncompressed batches), then check the offsets the admin client lists.
// kafkajs consumes only through consumer groups, which come with the group
// coordinator; the Go test reads the records back with kgo.
// Usage: node kafkajs_roundtrip.js HOST:PORT TOPIC COUNT
const { Kafka, CompressionTypes, logLevel } = require('kafkajs')

async function main() {
  const [broker, topic, countArg] = process.argv.slice(2)
  const count = parseInt(countArg, 10)
  const kafka = new Kafka({ clientId: 'rill-kafkajs-test', brokers: [broker], logLevel: logLevel.ERROR })
  const admin = kafka.admin()
  await admin.connect()
  if (!(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] }))) {
    throw new Error('createTopics returned false')
  }
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  for (let i = 0; i < count; i += 100) {
    const messages = []
    for (let j = i; j < Math.min(i + 100, count); j++) {
      messages.push({ key: `k${j % 10}`, value: `v${j}`, headers: { n: String(j) } })
    }
    const compression = (i / 100) % 2 === 0 ? CompressionTypes.GZIP : CompressionTypes.None
    await producer.send({ topic, acks: -1, messages, compression })
  }
  await producer.disconnect()
  const offsets = await admin.fetchTopicOffsets(topic)
  const total = offsets.reduce((s, p) => s + Number(p.high) - Number(p.low), 0)
  if (total !== count) throw new Error(`topic holds ${total} records, want ${count}`)
  const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, Date.now() - 3600 * 1000)
  if (byTime.some((p) => Number(p.offset) !== 0)) throw new Error(`offsets by timestamp: ${JSON.stringify(byTime)}`)
  const meta = await admin.fetchTopicMetadata({ topics: [topic] })
  if (meta.topics[0].partitions.length !== 3) throw new Error('metadata: wrong partition count')
  await admin.disconnect()
  console.log(`kafkajs ok: ${count} records in ${offsets.length} partitions`)
}

main().catch((e) => { console.error(e); process.exit(1) })

// kafkajs against a real rill broker over TLS: SASL_SSL with SCRAM, or
// SSL with a client certificate (mutual TLS). The admin client creates the
// topic, the producer writes COUNT keyed records ("k<i%7>" ->
// "<TOPIC>-<iiii>"), then a consumer group reads them back from the
// beginning, committing as it goes, and prints every record it processed,
// one per line ("partition offset key value"), for the Go test to check.
// Exits once COUNT distinct values were seen and the consumer has left
// the group (which commits what it processed).
//
// Usage: node kafkajs_security.js HOST:PORT TOPIC GROUP COUNT SECURITY
// SECURITY is JSON: {"ca": FILE, "cert": FILE, "key": FILE,
// "sasl": {"mechanism": "scram-sha-512", "username": U, "password": P}};
// cert/key (a client certificate) and sasl are optional.
const fs = require('fs')
const { Kafka, logLevel } = require('kafkajs')

async function main() {
  const [broker, topic, groupId, countArg, securityArg] = process.argv.slice(2)
  const count = parseInt(countArg, 10)
  const security = JSON.parse(securityArg)
  const ssl = { ca: [fs.readFileSync(security.ca, 'utf8')] }
  if (security.cert) {
    ssl.cert = fs.readFileSync(security.cert, 'utf8')
    ssl.key = fs.readFileSync(security.key, 'utf8')
  }
  const kafka = new Kafka({
    clientId: 'rill-kafkajs-security',
    brokers: [broker],
    ssl,
    sasl: security.sasl,
    logLevel: logLevel.ERROR,
  })

  const admin = kafka.admin()
  await admin.connect()
  if (!(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true }))) {
    throw new Error('createTopics returned false')
  }
  await admin.disconnect()

  const producer = kafka.producer()
  await producer.connect()
  const messages = []
  for (let i = 0; i < count; i++) {
    messages.push({ key: `k${i % 7}`, value: `${topic}-${String(i).padStart(4, '0')}` })
  }
  // Several sends of 100: several produce requests, each acks=all.
  for (let i = 0; i < count; i += 100) {
    await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 100) })
  }
  await producer.disconnect()

  const consumer = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500 })
  const seen = new Set()
  let resolveDone
  const done = new Promise((resolve) => { resolveDone = resolve })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    autoCommitInterval: 100,
    eachMessage: async ({ partition, message }) => {
      const v = message.value.toString()
      process.stdout.write(`${partition} ${message.offset} ${message.key.toString()} ${v}\n`)
      seen.add(v)
      if (seen.size >= count) resolveDone()
    },
  })
  const timer = setTimeout(() => { console.error(`timed out with ${seen.size} of ${count}`); process.exit(1) }, 60000)
  await done
  clearTimeout(timer)
  await consumer.disconnect()
}

main().catch((err) => { console.error(err); process.exit(1) })

// kafkajs transactions against a real rill broker, in three steps:
//  1. a transactional producer commits c-0..9, aborts a-0..9 and commits
//     d-0..9 on TXTOPIC;
//  2. a read_committed consumer (readUncommitted: false, kafkajs's
//     default, set explicitly) reads TXTOPIC from the start and prints
//     "read VALUE" for each record until it has 20 and a little longer;
//  3. consume-transform-produce: a consumer of group GROUP (no
//     autocommit) reads INTOPIC; for each batch one transaction sends
//     "out-VALUE" to OUTTOPIC and the batch's offsets (sendOffsets), then
//     commits; prints "etl N" per committed batch, until COUNT inputs.
// Usage: node kafkajs_txn.js HOST:PORT[,HOST:PORT...] TXTOPIC INTOPIC OUTTOPIC GROUP COUNT
const { Kafka, logLevel } = require('kafkajs')

// sendOffsets retries CONCURRENT_TRANSACTIONS itself: kafkajs does not
// retry its AddOffsetsToTxn (kafkajs issue #430), which the coordinator
// answers so while the previous transaction's markers are being written,
// as Kafka's does.
async function sendOffsets(txn, args) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await txn.sendOffsets(args)
    } catch (err) {
      if (err.type !== 'CONCURRENT_TRANSACTIONS' || attempt >= 50) throw err
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
}

async function main() {
  const [broker, txTopic, inTopic, outTopic, groupId, countArg] = process.argv.slice(2)
  const count = parseInt(countArg, 10)
  const kafka = new Kafka({ clientId: 'rill-kafkajs-txn', brokers: broker.split(','), logLevel: logLevel.ERROR })
  const timer = setTimeout(() => { console.error('timed out'); process.exit(1) }, 60000)

  // 1. Commit, abort, commit.
  const producer = kafka.producer({ transactionalId: 'kafkajs-txn', idempotent: true, maxInFlightRequests: 1, transactionTimeout: 10000 })
  await producer.connect()
  for (const [prefix, commit] of [['c', true], ['a', false], ['d', true]]) {
    const txn = await producer.transaction()
    const messages = []
    for (let i = 0; i < 10; i++) messages.push({ key: `k${i}`, value: `${prefix}-${i}` })
    await txn.send({ topic: txTopic, messages })
    if (commit) await txn.commit()
    else await txn.abort()
    console.log(`${commit ? 'committed' : 'aborted'} ${prefix}`)
  }

  // 1b. Offsets-only transactions of group GROUP-offsets: offset 5 of
  // TXTOPIC-0 committed, then offset 9 aborted (kafkajs sends
  // TxnOffsetCommit at sendOffsets, so the abort discards a pending one).
  for (const [offset, commit] of [['5', true], ['9', false]]) {
    const txn = await producer.transaction()
    await sendOffsets(txn, { consumerGroupId: `${groupId}-offsets`, topics: [{ topic: txTopic, partitions: [{ partition: 0, offset }] }] })
    if (commit) await txn.commit()
    else await txn.abort()
    console.log(`offsets ${offset} ${commit ? 'committed' : 'aborted'}`)
  }

  // 2. read_committed.
  const reader = kafka.consumer({ groupId: `${groupId}-reader`, readUncommitted: false, sessionTimeout: 6000, heartbeatInterval: 500 })
  await reader.connect()
  await reader.subscribe({ topic: txTopic, fromBeginning: true })
  let read = 0
  let resolveRead
  const readDone = new Promise((resolve) => { resolveRead = resolve })
  await reader.run({
    eachMessage: async ({ message }) => {
      console.log(`read ${message.value.toString()}`)
      if (++read >= 20) resolveRead()
    },
  })
  await readDone
  await new Promise((resolve) => setTimeout(resolve, 1000)) // extra records, if any
  await reader.disconnect()

  // 3. Consume-transform-produce.
  const etl = kafka.consumer({ groupId, readUncommitted: false, sessionTimeout: 6000, heartbeatInterval: 500 })
  await etl.connect()
  await etl.subscribe({ topic: inTopic, fromBeginning: true })
  let done = 0
  let resolveEtl
  const etlDone = new Promise((resolve) => { resolveEtl = resolve })
  await etl.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset }) => {
      if (batch.messages.length === 0) return
      const txn = await producer.transaction()
      try {
        await txn.send({
          topic: outTopic,
          messages: batch.messages.map((m) => ({ key: m.key, value: `out-${m.value.toString()}` })),
        })
        const last = batch.messages[batch.messages.length - 1]
        await sendOffsets(txn, {
          consumerGroupId: groupId,
          topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() }] }],
        })
        await txn.commit()
      } catch (err) {
        console.error(`etl transaction: ${err}`)
        await txn.abort().catch(() => {})
        throw err
      }
      for (const m of batch.messages) resolveOffset(m.offset)
      done += batch.messages.length
      console.log(`etl ${batch.messages.length}`)
      if (done >= count) resolveEtl()
    },
  })
  await etlDone
  await etl.disconnect()
  await producer.disconnect()
  clearTimeout(timer)
}

main().catch((err) => { console.error(err); process.exit(1) })

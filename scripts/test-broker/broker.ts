/** A Kafka broker provided for one test run. */
export interface TestBroker {
  /** Comma-separated host:port, exported to the tests as BAHE_KAFKA_BROKERS. */
  brokers: string;
  /** What it is, for the log: "container bahe/kafka:3.9.2", "local KRaft broker", ... */
  kind: string;
  /** False for a broker that already ran: the launcher leaves it running. */
  startedHere: boolean;
  /** Stops and removes what the launcher started; a broker it found running is left alone. */
  stop(): Promise<void>;
}

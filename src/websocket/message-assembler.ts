/**
 * Data frames to whole messages (RFC 6455 §5.4, RFC 7692 §7.2.2), sans-IO: a single-frame message
 * is converted at once, fragments go to a MessageBuilder, a compressed message's frames through the
 * inflater (asynchronous). After each fragment the reader's payload limit is lowered to what the
 * message may still take, so the next fragment's header alone can fail it with 1009.
 */

import { Opcode } from "./frame.js";
import type { Frame, FrameReader } from "./frame-reader.js";
import type { PerMessageDeflate } from "./deflate.js";
import { MessageBuilder, wholeMessage } from "./message-builder.js";
import type { Message } from "./message-queue.js";

/** How much bigger than maxMessageBytes a compressed message may be on the wire (stored-block overhead). */
const compressedBudget = (max: number): number => max + Math.ceil(max / 1024) + 1024;

export class MessageAssembler {
  private readonly reader: FrameReader;
  private readonly maxMessageBytes: number;
  private readonly deflate: PerMessageDeflate | null;
  /** Made for the first fragmented or compressed message. */
  private builder: MessageBuilder | null = null;
  private compressedSoFar = 0;

  constructor(reader: FrameReader, maxMessageBytes: number, deflate: PerMessageDeflate | null) {
    this.reader = reader;
    this.maxMessageBytes = maxMessageBytes;
    this.deflate = deflate;
  }

  /**
   * A data frame: the message it completes, null while the message is incomplete, or (a compressed
   * frame) a promise of either. Throws, or rejects, with a WebSocketProtocolError.
   */
  add(frame: Frame): Message | null | Promise<Message | null> {
    if (frame.compressed && this.deflate !== null) return this.inflate(frame, this.deflate);
    if (frame.opcode !== Opcode.Continuation && frame.fin) {
      return wholeMessage(frame.payload, frame.opcode === Opcode.Text);
    }
    const builder = this.builderFor(frame);
    builder.append(frame.payload);
    if (!frame.fin) {
      this.reader.maxPayload = builder.remaining;
      return null;
    }
    this.reader.maxPayload = this.maxMessageBytes;
    return builder.finish();
  }

  private inflate(frame: Frame, deflate: PerMessageDeflate): Promise<Message | null> {
    const budget = compressedBudget(this.maxMessageBytes);
    const builder = this.builderFor(frame);
    if (frame.opcode !== Opcode.Continuation) this.compressedSoFar = 0;
    this.compressedSoFar += frame.payload.length;
    this.reader.maxPayload = frame.fin ? budget : budget - this.compressedSoFar;
    return deflate
      .inflate(frame.payload, frame.fin, (bytes) => {
        builder.append(bytes);
      })
      .then(() => (frame.fin ? builder.finish() : null));
  }

  /** The builder of the message `frame` belongs to, begun anew on a message's first frame. */
  private builderFor(frame: Frame): MessageBuilder {
    const builder = (this.builder ??= new MessageBuilder(this.maxMessageBytes));
    if (frame.opcode !== Opcode.Continuation) builder.begin(frame.opcode === Opcode.Text);
    return builder;
  }
}

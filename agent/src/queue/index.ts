export { openDiskQueue, type DiskQueue, type DiskQueueOptions, type QueueBatch, type QueueLog } from "./disk-queue.js";

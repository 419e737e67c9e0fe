// Triton's system shared memory extension: clients on the server's host register POSIX
// shared-memory objects (files under /dev/shm) by name; inputs are read from them and
// outputs written into them, so tensor bytes do not cross the transport. Off unless the
// operator enables it (--allow-client-shm): a client names objects on the server's host.
//
// Keys are confined to the shared-memory folder (a single name, no links followed), every
// offset and size is checked at registration and again on each use, and a region that is
// unregistered while requests use it stays open until the last of them is done.

import { closeSync, constants, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Code, ServeError, invalid, notFound } from '../errors.js';

export interface RegionStatus {
  name: string;
  key: string;
  offset: number;
  byteSize: number;
}

export interface SharedMemoryOptions {
  enabled: boolean;
  /** Where POSIX shared-memory objects live (/dev/shm on Linux). */
  root?: string;
  /** Regions registered at once. */
  maxRegions?: number;
}

interface Region {
  readonly status: RegionStatus;
  readonly fd: number;
  /** Requests using it now. */
  users: number;
  /** Unregistered: closed once its last user is done. */
  removed: boolean;
}

/** A request's hold on a region: reads and writes go through it, released once. */
export interface RegionLease {
  /** Throws INVALID_ARGUMENT unless [offset, offset + byteSize) is inside the region. */
  check(offset: number, byteSize: number, what: string): void;
  read(offset: number, byteSize: number, what: string): Buffer;
  write(offset: number, byteSize: number, data: Uint8Array, what: string): void;
  release(): void;
}

const KEY = /^\/?(?!\.{1,2}$)[A-Za-z0-9._-]{1,255}$/;
const NAME = /^[\x21-\x7e]([\x20-\x7e]{0,253}[\x21-\x7e])?$/;

export class SystemSharedMemory {
  private readonly regions = new Map<string, Region>();
  /** Open objects: the registered ones and the unregistered ones requests still use (each an fd). */
  private open = 0;
  private readonly root: string;
  private readonly maxRegions: number;

  constructor(private readonly opts: SharedMemoryOptions) {
    this.root = opts.root ?? '/dev/shm';
    this.maxRegions = opts.maxRegions ?? 256;
  }

  get enabled(): boolean {
    return this.opts.enabled;
  }

  /**
   * Registers a region; returns the object's identity (device, inode, birth time). With `identity`
   * (a replay into a new process) the object must still be that one: a key unlinked and
   * created again by someone else is not the region the client registered.
   */
  register(name: string, key: string, offset: number, byteSize: number, identity?: string): string {
    this.refuseWhenOff();
    if (!NAME.test(name)) throw invalid(`a shared memory region name must be 1-255 printable ASCII characters, got '${printable(name)}'`);
    if (!KEY.test(key)) {
      throw invalid(`shared memory key '${printable(key)}' must name one object in ${this.root}: '/name' of A-Z a-z 0-9 . _ - (no other slashes)`);
    }
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(byteSize) || byteSize < 1) {
      throw invalid(`shared memory region '${name}': offset must be an integer >= 0 and byte_size one >= 1`);
    }
    if (this.regions.has(name)) throw new ServeError(Code.ALREADY_EXISTS, `shared memory region '${name}' is already registered`);
    if (this.open >= this.maxRegions) {
      throw new ServeError(
        Code.RESOURCE_EXHAUSTED,
        `${this.maxRegions} shared memory regions are open (registered, or unregistered and still in use); unregister one first`,
      );
    }
    const file = join(this.root, key.replace(/^\//, ''));
    let fd: number;
    try {
      // O_NOFOLLOW: a link in the folder cannot point the server at another file.
      fd = openSync(file, constants.O_RDWR | constants.O_NOFOLLOW);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw code === 'ENOENT'
        ? notFound(`shared memory key '${key}' does not exist`)
        : invalid(`shared memory key '${key}' cannot be opened (${code ?? 'error'})`);
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw invalid(`shared memory key '${key}' is not a shared memory object`);
      if (identity !== undefined && identity !== identityOf(fd)) throw invalid(`shared memory key '${key}' is no longer the object registered as '${name}'`);
      if (offset + byteSize > st.size) {
        throw invalid(`shared memory region '${name}': offset ${offset} + byte_size ${byteSize} is past the end of '${key}' (${st.size} bytes)`);
      }
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    this.regions.set(name, { status: { name, key, offset, byteSize }, fd, users: 0, removed: false });
    this.open++;
    return identityOf(fd);
  }

  /** One region by name, or every region for ''. */
  status(name: string): RegionStatus[] {
    if (name === '') return [...this.regions.values()].map((r) => ({ ...r.status }));
    const r = this.regions.get(name);
    if (!r) throw notFound(`no shared memory region '${printable(name)}' is registered`);
    return [{ ...r.status }];
  }

  /** One region by name, or every region for ''; an unknown name is not an error (as Triton). */
  unregister(name: string): void {
    this.refuseWhenOff();
    this.drop(name);
  }

  /** As tritonserver: registering and unregistering answer UNIMPLEMENTED while client shared memory is off. */
  private refuseWhenOff(): void {
    if (!this.opts.enabled) {
      throw new ServeError(Code.UNIMPLEMENTED, "client shared memory is off on this server; start it with '--allow-client-shm=true' to use it");
    }
  }

  private drop(name: string): void {
    const names = name === '' ? [...this.regions.keys()] : [name];
    for (const n of names) {
      const r = this.regions.get(n);
      if (!r) continue;
      this.regions.delete(n);
      r.removed = true;
      if (r.users === 0) this.closeRegion(r);
    }
  }

  /** Holds a region for one request; UNAVAILABLE when off, INVALID_ARGUMENT when not registered. */
  lease(name: string, what: string): RegionLease {
    if (!this.opts.enabled) throw invalid(`${what}: system shared memory is off on this server (--allow-client-shm)`);
    const r = this.regions.get(name);
    if (!r) throw invalid(`${what}: no shared memory region '${printable(name)}' is registered`);
    r.users++;
    let released = false;
    const bounds = (offset: number, byteSize: number): number => {
      if (!Number.isSafeInteger(offset) || offset < 0 || offset + byteSize > r.status.byteSize) {
        throw invalid(`${what}: offset ${offset} + byte_size ${byteSize} is outside shared memory region '${name}' (${r.status.byteSize} bytes)`);
      }
      return r.status.offset + offset;
    };
    const live = (): void => {
      if (released) throw new Error(`shared memory region '${name}' used after its lease was released (a bug)`);
    };
    return {
      check: (offset, byteSize) => void bounds(offset, byteSize),
      read: (offset, byteSize, w) => {
        live();
        const at = bounds(offset, byteSize);
        const out = Buffer.alloc(byteSize);
        let got = 0;
        while (got < byteSize) {
          const n = readSync(r.fd, out, got, byteSize - got, at + got);
          if (n === 0) throw invalid(`${w}: shared memory region '${name}' ends before its registered size (was '${r.status.key}' truncated?)`);
          got += n;
        }
        return out;
      },
      write: (offset, byteSize, data, w) => {
        if (data.byteLength > byteSize) {
          throw invalid(`${w}: shared_memory_byte_size ${byteSize} is too small for the output (${data.byteLength} bytes)`);
        }
        live();
        const at = bounds(offset, byteSize);
        let put = 0;
        while (put < data.byteLength) put += writeSync(r.fd, data, put, data.byteLength - put, at + put);
      },
      release: () => {
        if (released) return;
        released = true;
        r.users--;
        if (r.removed && r.users === 0) this.closeRegion(r);
      },
    };
  }

  private closeRegion(r: Region): void {
    closeSync(r.fd);
    this.open--;
  }

  /** Closes every region (shutdown). */
  close(): void {
    this.drop('');
  }
}

/** Which object an fd is: device, inode and birth time (an inode number alone is reused once freed). */
function identityOf(fd: number): string {
  const st = fstatSync(fd, { bigint: true });
  return `${st.dev}:${st.ino}:${st.birthtimeNs}`;
}

function printable(s: string): string {
  return s.slice(0, 200).replace(/[^\x20-\x7e]/g, '?');
}

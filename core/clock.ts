/** Time source. Everything that decides on time takes a Clock so tests can control it. */
export interface Clock {
  now(): Date
}

export const systemClock: Clock = { now: () => new Date() }

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  private current: number
  constructor(start: Date | number = Date.now()) {
    this.current = typeof start === 'number' ? start : start.getTime()
  }
  now(): Date {
    return new Date(this.current)
  }
  advance(milliseconds: number): void {
    this.current += milliseconds
  }
  set(at: Date | number): void {
    this.current = typeof at === 'number' ? at : at.getTime()
  }
}

export function addMs(date: Date, milliseconds: number): Date {
  return new Date(date.getTime() + milliseconds)
}

/** A wait that ends after a timeout or as soon as someone calls wake(). */
export class Sleeper {
  private waker: (() => void) | null = null
  private pending = false

  sleep(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false
      return Promise.resolve()
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms)
      const self = this
      function done() {
        clearTimeout(timer)
        if (self.waker === done) self.waker = null
        resolve()
      }
      this.waker = done
    })
  }

  /** End the current sleep; if none is in progress, the next one returns at once. */
  wake(): void {
    if (this.waker) this.waker()
    else this.pending = true
  }
}

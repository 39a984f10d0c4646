// Page lifetime: a page registers what to stop (polling timers) when the user leaves it.
const cleanups: (() => void)[] = [];

export function onLeave(f: () => void): void {
  cleanups.push(f);
}

export function leavePage(): void {
  while (cleanups.length) cleanups.pop()!();
}

export function go(hash: string): void {
  location.hash = hash;
}

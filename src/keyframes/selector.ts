import type { Frame } from '../decode/frames.js';

/**
 * Decides which sampled frames are kept as keyframes. Selectors are stateful per video: create one
 * per decoded video and feed it frames in order.
 */
export interface KeyframeSelector {
  /** Identifies the selection rule; recorded with the library. */
  readonly id: string;
  keep(frame: Frame): boolean;
}

export type KeyframeSelectorFactory = () => KeyframeSelector;

/** Every sampled frame is a keyframe (the baseline the learned selector must beat). */
export const allFrames: KeyframeSelectorFactory = () => ({ id: 'all', keep: () => true });

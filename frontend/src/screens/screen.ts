import type { Bridge } from "../bridge";
import type { Component } from "../dom";
import type { View } from "../view";

/** What every screen gets: the view to show and the bridge to act with. */
export interface ScreenProps {
  view: View;
  bridge: Bridge;
  /** shown reports that the screen now shows state (once its QR image loaded). */
  shown(state: string): void;
}

export type Screen = Component<ScreenProps>;
export type ScreenFactory = (p: ScreenProps) => Screen;

import { Raft, type CampaignKind, type RaftConfig } from '../../src/raft/index.js';

/** What the simulator wants to know about a node's state changes as they happen. */
export interface RaftObserver {
  onBecomeLeader(raft: Raft): void;
  onCampaign(raft: Raft, kind: CampaignKind): void;
}

/**
 * Raft with hooks for the simulator's checker. Role changes can come and go between two Readys,
 * so the checker hears of each election directly rather than inferring it from Ready output.
 */
export class ObservedRaft extends Raft {
  constructor(
    config: RaftConfig,
    private readonly observer: RaftObserver,
  ) {
    super(config);
  }

  protected override becomeLeader(): void {
    super.becomeLeader();
    this.observer.onBecomeLeader(this);
  }

  protected override campaign(kind: CampaignKind): void {
    this.observer.onCampaign(this, kind);
    super.campaign(kind);
  }
}

export type ObservedRaftClass = new (config: RaftConfig, observer: RaftObserver) => Raft;

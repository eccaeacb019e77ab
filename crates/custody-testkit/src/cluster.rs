//! A JetStream cluster of nats-server nodes on loopback, started by a test.

use std::io;
use std::thread;
use std::time::{Duration, Instant};

use crate::{free_port, NatsServer, ServerOptions};

/// The prefix of every [`Cluster`]'s name; each cluster adds the test process's id and a
/// counter, so that two clusters a test binary runs at once never take each other's nodes.
pub const CLUSTER_NAME: &str = "custody";
/// How long a cluster start, a node restart or a wait for a stream may take.
const CLUSTER_TIMEOUT: Duration = Duration::from_secs(30);
/// How many fresh clusters (new ports, empty stores) [`Cluster::start_with`] tries when a
/// port was taken meanwhile or the nodes did not form one meta group.
const START_ATTEMPTS: usize = 3;
/// How long a new cluster's meta group may take to count every node before
/// [`Cluster::start_with`] starts a fresh one.
const FORMATION_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause between polls of the monitoring endpoints.
const POLL: Duration = Duration::from_millis(50);

/// What one node's monitoring endpoint (`/jsz?streams=true`) says of a stream's replica on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamState {
    /// Messages in the node's copy.
    pub messages: u64,
    /// First stream sequence of the node's copy (0 when empty).
    pub first_seq: u64,
    /// Last stream sequence of the node's copy.
    pub last_seq: u64,
    /// The stream's leader as this node sees it (`None` while there is none).
    pub leader: Option<String>,
}

/// A JetStream cluster of nats-server nodes (3 by default) on 127.0.0.1, each with its own
/// free client, monitoring and route ports, its own temporary store directory and
/// `sync_interval: always`, all routed to each other in a cluster of its own
/// ([`Cluster::cluster_name`]).
///
/// Node `i` is named `n{i+1}` (`server_name`). [`Cluster::kill`] kills one node with SIGKILL;
/// [`Cluster::restart`] starts it again with the same ports and store. Dropping the value
/// kills every node and removes their directories.
///
/// The configuration each node runs with has the shape of a production cluster node
/// (`server_name`, `cluster { name, listen, routes }`, JetStream with `sync_interval: always`),
/// on loopback ports and without accounts or TLS.
#[derive(Debug)]
pub struct Cluster {
    nodes: Vec<NatsServer>,
    names: Vec<String>,
    cluster_name: String,
}

/// A cluster name no other [`Cluster`] of this machine runs with at the same time.
///
/// Two clusters with one name (and, as here, the same server names `n1`..`n3`) merge when one
/// node's route port is given to the other cluster between [`free_port`] and the bind, or
/// while a killed node is down: the server refuses a route only when the names differ
/// (`Cluster Name Conflict`). Merged by hand, the second cluster's node led a meta group of
/// the first's nodes.
fn unique_cluster_name() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{CLUSTER_NAME}-{}-{n}", std::process::id())
}

impl Cluster {
    /// Starts a 3-node cluster with [`ServerOptions::default`] and waits until every node is
    /// ready and JetStream has a meta leader.
    pub fn start() -> io::Result<Cluster> {
        Cluster::start_with(3, ServerOptions::default())
    }

    /// Starts a cluster of `size` nodes; `options.extra_config` and
    /// `options.jetstream_config` go into every node's configuration.
    pub fn start_with(size: usize, options: ServerOptions) -> io::Result<Cluster> {
        if size == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a cluster needs at least one node",
            ));
        }
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            match Cluster::try_start(size, &options) {
                Ok(cluster) => return Ok(cluster),
                Err(Start::Retry(e)) => last_error = Some(e),
                Err(Start::Failed(e)) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("no free ports for the cluster")))
    }

    fn try_start(size: usize, options: &ServerOptions) -> Result<Cluster, Start> {
        // Every port is chosen up front: each node's routes name all the others.
        let mut ports = Vec::with_capacity(size);
        let mut seen = std::collections::HashSet::new();
        while ports.len() < size {
            let p = (free_port()?, free_port()?, free_port()?);
            if seen.insert(p.0) && seen.insert(p.1) && seen.insert(p.2) {
                ports.push(p);
            }
        }
        let routes: Vec<String> = ports
            .iter()
            .map(|(_, _, route)| format!("nats-route://127.0.0.1:{route}"))
            .collect();
        let cluster_name = unique_cluster_name();
        let mut nodes = Vec::with_capacity(size);
        let mut names = Vec::with_capacity(size);
        for (i, (client, monitor, route)) in ports.iter().enumerate() {
            let name = format!("n{}", i + 1);
            let mut node_options = options.clone();
            node_options.extra_config = format!(
                "server_name: {name}\n\
                 cluster {{\n  name: {cluster_name}\n  listen: 127.0.0.1:{route}\n  \
                 routes: [\n    {}\n  ]\n}}\n{}",
                routes.join("\n    "),
                options.extra_config
            );
            nodes.push(NatsServer::unstarted(node_options, *client, *monitor)?);
            names.push(name);
        }
        let mut cluster = Cluster {
            nodes,
            names,
            cluster_name,
        };
        // All nodes first: a node's JetStream is healthy only once a majority has met.
        for node in &mut cluster.nodes {
            node.spawn().map_err(Start::from_spawn)?;
        }
        for node in &mut cluster.nodes {
            node.wait_ready().map_err(Start::from_spawn)?;
        }
        cluster.wait_meta_leader().map_err(Start::Failed)?;
        // At its first start a node sizes the meta group from what it knows then (the
        // configured routes, the peers already met); under load it can settle on fewer than
        // all the nodes, and the one left out is never added: a replicated stream then finds
        // "no suitable peers for placement". Such a cluster is thrown away, not waited on.
        cluster.wait_meta_peers().map_err(Start::Retry)?;
        Ok(cluster)
    }

    /// The `cluster { name }` every node of this cluster runs with.
    pub fn cluster_name(&self) -> &str {
        &self.cluster_name
    }

    /// Waits until the meta leader counts every node of the cluster as a current peer, so a
    /// replicated stream can be placed on all of them.
    fn wait_meta_peers(&mut self) -> io::Result<()> {
        let size = self.nodes.len();
        let mut seen = Vec::new();
        let what = "every node as a current JetStream peer";
        let waited = self.poll_for(what, FORMATION_TIMEOUT, |cluster| {
            seen.clear();
            for i in cluster.running() {
                let Ok(jsz) = cluster.jsz(i, "/jsz") else {
                    continue;
                };
                let meta = &jsz["meta_cluster"];
                seen.push(format!("{}: {meta}", cluster.names[i]));
                if meta["leader"].as_str() != Some(cluster.names[i].as_str()) {
                    continue;
                }
                let replicas = meta["replicas"].as_array().cloned().unwrap_or_default();
                let current = replicas
                    .iter()
                    .filter(|r| {
                        r["current"].as_bool() == Some(true)
                            && r["offline"].as_bool() != Some(true)
                            && r["name"]
                                .as_str()
                                .is_some_and(|n| cluster.index_of(n).is_some())
                    })
                    .count();
                return (current + 1 == size).then_some(());
            }
            None
        });
        waited.map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "{e}\nmeta groups as each node sees them:\n{}",
                    seen.join("\n")
                ),
            )
        })
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the cluster has no node (never: [`Cluster::start_with`] refuses 0).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Node `i` (0-based).
    ///
    /// # Panics
    ///
    /// When `i` is not below [`Cluster::len`].
    pub fn node(&self, i: usize) -> &NatsServer {
        &self.nodes[i]
    }

    /// The `server_name` of node `i` (`n{i+1}`).
    pub fn name(&self, i: usize) -> &str {
        &self.names[i]
    }

    /// The index of the node named `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// The client URL of node `i`.
    pub fn url(&self, i: usize) -> String {
        self.nodes[i].url()
    }

    /// The client URLs of every node, comma-separated (what a client given the whole cluster
    /// connects to).
    pub fn urls(&self) -> String {
        self.nodes
            .iter()
            .map(NatsServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Whether node `i` runs.
    pub fn is_running(&mut self, i: usize) -> bool {
        self.nodes[i].is_running()
    }

    /// Kills node `i` with SIGKILL, like a crash.
    pub fn kill(&mut self, i: usize) {
        self.nodes[i].kill();
    }

    /// Starts node `i` again with the same ports and store directory, and waits until it is
    /// ready (its `/healthz` answers 200: it rejoined the cluster and its JetStream assets are
    /// current).
    pub fn restart(&mut self, i: usize) -> io::Result<()> {
        self.nodes[i].restart()
    }

    /// Waits until a running node reports a JetStream meta leader; returns its name.
    pub fn wait_meta_leader(&mut self) -> io::Result<String> {
        self.poll("a JetStream meta leader", |cluster| {
            for i in cluster.running() {
                let Ok(jsz) = cluster.jsz(i, "/jsz") else {
                    continue;
                };
                let leader = jsz["meta_cluster"]["leader"].as_str().unwrap_or_default();
                if cluster.running_name(leader) {
                    return Some(leader.to_string());
                }
            }
            None
        })
    }

    /// What node `i` holds of `stream` (`None` when it hosts no replica of it).
    pub fn stream_state(&self, i: usize, stream: &str) -> io::Result<Option<StreamState>> {
        let jsz = self.jsz(i, "/jsz?accounts=true&streams=true")?;
        let accounts = jsz["account_details"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for account in accounts {
            let streams = account["stream_detail"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for s in streams {
                if s["name"].as_str() != Some(stream) {
                    continue;
                }
                let state = &s["state"];
                let leader = s["cluster"]["leader"]
                    .as_str()
                    .filter(|l| !l.is_empty())
                    .map(str::to_string);
                return Ok(Some(StreamState {
                    messages: state["messages"].as_u64().unwrap_or(0),
                    first_seq: state["first_seq"].as_u64().unwrap_or(0),
                    last_seq: state["last_seq"].as_u64().unwrap_or(0),
                    leader,
                }));
            }
        }
        Ok(None)
    }

    /// Waits until `stream` has a leader among the running nodes, as every running node sees
    /// it; returns the leader's node index.
    pub fn wait_stream_leader(&mut self, stream: &str) -> io::Result<usize> {
        let what = format!("a leader of stream {stream}");
        self.poll(&what, |cluster| {
            let mut leader = None;
            for i in cluster.running() {
                let state = cluster.stream_state(i, stream).ok()??;
                let this = state.leader?;
                if leader.get_or_insert_with(|| this.clone()) != &this {
                    return None;
                }
            }
            let leader = leader?;
            if cluster.running_name(&leader) {
                cluster.index_of(&leader)
            } else {
                None
            }
        })
    }

    /// Waits until every running node holds `messages` messages of `stream` (ending at stream
    /// sequence `messages`), a leader is elected, and returns each node's state.
    pub fn wait_stream_current(
        &mut self,
        stream: &str,
        messages: u64,
    ) -> io::Result<Vec<StreamState>> {
        let what = format!("every node holding {messages} messages of stream {stream}");
        self.poll(&what, |cluster| {
            let mut states = Vec::new();
            for i in cluster.running() {
                let state = cluster.stream_state(i, stream).ok()??;
                if state.messages != messages || state.last_seq != messages {
                    return None;
                }
                state.leader.as_ref()?;
                states.push(state);
            }
            Some(states)
        })
    }

    /// The indexes of the running nodes.
    fn running(&mut self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].is_running())
            .collect()
    }

    fn running_name(&mut self, name: &str) -> bool {
        match self.index_of(name) {
            Some(i) => self.nodes[i].is_running(),
            None => false,
        }
    }

    fn jsz(&self, i: usize, path: &str) -> io::Result<serde_json::Value> {
        let body = self.nodes[i].monitor_get(path)?;
        serde_json::from_str(&body).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{path} of node {}: {e}", self.names[i]),
            )
        })
    }

    /// Polls `check` until it returns a value or [`CLUSTER_TIMEOUT`] passes.
    fn poll<T>(
        &mut self,
        what: &str,
        check: impl FnMut(&mut Cluster) -> Option<T>,
    ) -> io::Result<T> {
        self.poll_for(what, CLUSTER_TIMEOUT, check)
    }

    fn poll_for<T>(
        &mut self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut(&mut Cluster) -> Option<T>,
    ) -> io::Result<T> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = check(self) {
                return Ok(v);
            }
            if Instant::now() >= deadline {
                let logs: Vec<String> = self
                    .nodes
                    .iter()
                    .zip(&self.names)
                    .map(|(n, name)| format!("--- {name}:\n{}", n.log_tail()))
                    .collect();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no {what} within {timeout:?}; logs:\n{}", logs.join("\n")),
                ));
            }
            thread::sleep(POLL);
        }
    }
}

/// Why one attempt at starting a cluster failed.
enum Start {
    /// Worth a fresh cluster: a port was taken meanwhile, or the meta group left a node out
    /// (or never formed).
    Retry(io::Error),
    /// Not worth another try.
    Failed(io::Error),
}

impl From<io::Error> for Start {
    fn from(e: io::Error) -> Start {
        Start::Failed(e)
    }
}

impl Start {
    fn from_spawn(e: io::Error) -> Start {
        // TimedOut: a node that never met a meta leader, the same fault as below.
        if matches!(e.kind(), io::ErrorKind::AddrInUse | io::ErrorKind::TimedOut) {
            Start::Retry(e)
        } else {
            Start::Failed(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_nodes_form_a_cluster_and_a_killed_node_rejoins() {
        let mut cluster = Cluster::start().unwrap();
        assert_eq!(cluster.len(), 3);
        let leader = cluster.wait_meta_leader().unwrap();
        assert!(cluster.index_of(&leader).is_some(), "{leader}");
        for i in 0..3 {
            let varz = cluster.node(i).monitor_get("/varz").unwrap();
            assert!(varz.contains("\"sync_always\": true"), "node {i}");
            let routez = cluster.node(i).monitor_get("/routez").unwrap();
            let routes: serde_json::Value = serde_json::from_str(&routez).unwrap();
            assert!(
                routes["num_routes"].as_u64().unwrap_or(0) >= 2,
                "node {i} is routed to the two others: {routez}"
            );
        }
        assert_eq!(cluster.urls().split(',').count(), 3);

        let l = cluster.index_of(&leader).unwrap();
        cluster.kill(l);
        assert!(!cluster.is_running(l));
        let new_leader = cluster.wait_meta_leader().unwrap();
        assert_ne!(new_leader, leader, "the two others elect a new meta leader");
        cluster.restart(l).unwrap();
        assert!(cluster.is_running(l));
        cluster.wait_meta_leader().unwrap();
    }

    #[test]
    fn two_clusters_of_one_process_have_names_of_their_own_and_every_peer_current() {
        let mut a = Cluster::start_with(2, ServerOptions::default()).unwrap();
        let mut b = Cluster::start_with(2, ServerOptions::default()).unwrap();
        assert_ne!(a.cluster_name(), b.cluster_name());
        for cluster in [&mut a, &mut b] {
            let name = cluster.cluster_name().to_string();
            assert!(name.starts_with(CLUSTER_NAME), "{name}");
            let leader = cluster.wait_meta_leader().unwrap();
            let l = cluster.index_of(&leader).unwrap();
            for i in 0..cluster.len() {
                let varz: serde_json::Value =
                    serde_json::from_str(&cluster.node(i).monitor_get("/varz").unwrap()).unwrap();
                assert_eq!(
                    varz["cluster"]["name"].as_str(),
                    Some(name.as_str()),
                    "node {i}"
                );
            }
            let jsz: serde_json::Value =
                serde_json::from_str(&cluster.node(l).monitor_get("/jsz").unwrap()).unwrap();
            let replicas = jsz["meta_cluster"]["replicas"].as_array().unwrap();
            assert_eq!(replicas.len(), 1, "the leader's one peer: {jsz}");
            assert_eq!(replicas[0]["current"].as_bool(), Some(true), "{jsz}");
        }
    }
}

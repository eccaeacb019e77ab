//! A field post's nats-server connected to the hub's as a leaf node, over a link the test can
//! cut.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::{free_port, NatsServer, ServerOptions, TcpProxy};

/// The subjects the leaf link never carries, either way: the custody streams and buckets of
/// the post and of the hub listen on the same subjects, and each ledger's records and payloads
/// must stay in their own domain (they reach the hub through `custody sync` only).
pub const LINK_DENIED: &str = "\"custody.>\", \"$KV.>\"";

/// The JetStream domain of the hub in a [`LeafNode`].
pub const HUB_DOMAIN: &str = "hub";
/// The JetStream domain of the field post in a [`LeafNode`].
pub const POST_DOMAIN: &str = "post";
/// How long [`LeafNode::wait_linked`] and [`LeafNode::wait_unlinked`] wait.
const LINK_TIMEOUT: Duration = Duration::from_secs(20);
/// How many leaf ports [`LeafNode::start`] tries when one was taken meanwhile.
const PORT_ATTEMPTS: usize = 3;

/// A hub nats-server and a field post's nats-server connected to it as a leaf node, each with
/// its own JetStream (domains [`HUB_DOMAIN`] and [`POST_DOMAIN`]) and `sync_interval: always`.
///
/// The post's leaf connection goes through a [`TcpProxy`]: the link. [`LeafNode::cut`] breaks
/// it (and every other path carried over it, [`LeafNode::carry`]), [`LeafNode::restore`] brings
/// it back, and the post's server reconnects by itself. The post's JetStream keeps working
/// while cut off: its clients connect to [`LeafNode::post`] and their JetStream requests are
/// answered in the post's own domain.
///
/// The configurations have the shape of a production hub (`leafnodes { listen }`,
/// `jetstream { domain }`) and post (`leafnodes { remotes }`, its own domain), on loopback and
/// without accounts or TLS.
#[derive(Debug)]
pub struct LeafNode {
    // Dropped first: the link, then the servers.
    links: Vec<Arc<TcpProxy>>,
    post: NatsServer,
    hub: NatsServer,
}

impl LeafNode {
    /// Starts the hub, the link, and the post (which dials the hub through the link), and
    /// waits until the leaf connection is up.
    pub fn start() -> io::Result<LeafNode> {
        let mut last_error = None;
        for _ in 0..PORT_ATTEMPTS {
            let leaf_port = free_port()?;
            // The link first: the hub advertises it as its leaf address, so that a post that
            // reconnects (and learns the hub's leaf URLs from it) never dials around it.
            let link = TcpProxy::start(SocketAddr::from((Ipv4Addr::LOCALHOST, leaf_port)))?;
            let hub = NatsServer::start_with(ServerOptions {
                jetstream_config: format!("  domain: {HUB_DOMAIN}"),
                extra_config: format!(
                    "server_name: hub\nleafnodes {{\n  listen: 127.0.0.1:{leaf_port}\n  \
                     advertise: \"127.0.0.1:{}\"\n}}\n",
                    link.port()
                ),
                ..ServerOptions::default()
            });
            let hub = match hub {
                Ok(hub) => hub,
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                    last_error = Some(e);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let post = NatsServer::start_with(ServerOptions {
                jetstream_config: format!("  domain: {POST_DOMAIN}"),
                extra_config: format!(
                    "server_name: post\nleafnodes {{\n  reconnect: \"1s\"\n  remotes: [\n    \
                     {{ url: \"nats-leaf://127.0.0.1:{}\", deny_imports: [{LINK_DENIED}], \
                     deny_exports: [{LINK_DENIED}] }}\n  ]\n}}\n",
                    link.port()
                ),
                ..ServerOptions::default()
            })?;
            let mut leaf = LeafNode {
                links: vec![Arc::new(link)],
                post,
                hub,
            };
            leaf.wait_linked()?;
            return Ok(leaf);
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("no free leaf port")))
    }

    /// The hub's server (domain [`HUB_DOMAIN`]).
    pub fn hub(&self) -> &NatsServer {
        &self.hub
    }

    /// The post's server (domain [`POST_DOMAIN`]).
    pub fn post(&self) -> &NatsServer {
        &self.post
    }

    /// The post's server, mutable (to kill or restart it).
    pub fn post_mut(&mut self) -> &mut NatsServer {
        &mut self.post
    }

    /// The leaf connection's proxy.
    pub fn leaf_link(&self) -> &TcpProxy {
        &self.links[0]
    }

    /// Carries another TCP path from the post to `upstream` at the hub (say the hub gateway's
    /// HTTP port) over the same link: returns its proxy, which [`LeafNode::cut`] and
    /// [`LeafNode::restore`] cut and restore with the leaf connection.
    pub fn carry(&mut self, upstream: SocketAddr) -> io::Result<Arc<TcpProxy>> {
        let proxy = Arc::new(TcpProxy::start(upstream)?);
        if !self.is_up() {
            proxy.cut();
        }
        self.links.push(Arc::clone(&proxy));
        Ok(proxy)
    }

    /// Whether the link is up (every path over it).
    pub fn is_up(&self) -> bool {
        self.links.iter().all(|l| l.is_up())
    }

    /// Cuts the link: the leaf connection and every carried path break, and new connections
    /// over it are refused.
    pub fn cut(&self) {
        for link in &self.links {
            link.cut();
        }
    }

    /// Restores the link (the post's server reconnects by itself: [`LeafNode::wait_linked`]).
    pub fn restore(&self) -> io::Result<()> {
        for link in &self.links {
            link.restore()?;
        }
        Ok(())
    }

    /// Whether both servers report the leaf connection (`/leafz`).
    pub fn is_linked(&self) -> bool {
        leafnodes(&self.hub) > 0 && leafnodes(&self.post) > 0
    }

    /// Waits until the leaf connection is up on both sides.
    pub fn wait_linked(&mut self) -> io::Result<()> {
        self.wait_for(true)
    }

    /// Waits until neither server reports the leaf connection.
    pub fn wait_unlinked(&mut self) -> io::Result<()> {
        self.wait_for(false)
    }

    fn wait_for(&mut self, linked: bool) -> io::Result<()> {
        let deadline = Instant::now() + LINK_TIMEOUT;
        loop {
            let hub = leafnodes(&self.hub) > 0;
            let post = leafnodes(&self.post) > 0;
            if (linked && hub && post) || (!linked && !hub && !post) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "the leaf connection is not {} within {LINK_TIMEOUT:?}; hub log:\n{}\n\
                         post log:\n{}",
                        if linked { "up" } else { "down" },
                        self.hub.log_tail(),
                        self.post.log_tail()
                    ),
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The number of leaf connections a server reports (0 when it cannot say).
fn leafnodes(server: &NatsServer) -> u64 {
    server
        .monitor_get("/leafz")
        .ok()
        .and_then(|body| serde_json::from_str::<serde_json::Value>(&body).ok())
        .and_then(|v| v["leafnodes"].as_u64())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jetstream_domain(server: &NatsServer) -> String {
        let jsz: serde_json::Value =
            serde_json::from_str(&server.monitor_get("/jsz").unwrap()).unwrap();
        jsz["config"]["domain"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    #[test]
    fn the_post_links_to_the_hub_is_cut_off_and_links_again() {
        let mut leaf = LeafNode::start().unwrap();
        assert!(leaf.is_linked());
        assert_eq!(jetstream_domain(leaf.hub()), HUB_DOMAIN);
        assert_eq!(jetstream_domain(leaf.post()), POST_DOMAIN);

        leaf.cut();
        assert!(!leaf.is_up());
        leaf.wait_unlinked().unwrap();
        // The post's own server keeps answering while cut off.
        assert!(leaf.post().monitor_get("/healthz").is_ok());

        leaf.restore().unwrap();
        leaf.wait_linked().unwrap();
        let n = leaf.leaf_link().connections();
        assert!(n >= 2, "the post dialled again: {n} connections");
    }
}

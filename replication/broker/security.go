package broker

// The cluster's security metadata as this broker applies it: the ACLs it
// feeds to its authorizer (Config.ACLs) and the SCRAM credentials it
// answers lookups from (ScramCredential), both taken from the image by the
// publisher on each pass, whatever the Source, before the pass that makes
// the broker Ready. Changes go to the active controller as the Kafka
// requests a broker forwards (CreateAcls, DeleteAcls,
// AlterUserScramCredentials) and return once this broker has applied the
// metadata offset the controller answered with (node.MetadataOffsetTag).
//
// Concurrency: the publisher's goroutine alone syncs and calls the
// ACLSink; lookups read an immutable map through an atomic pointer, from
// any goroutine, with no lock.

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/replication/controller"
	"github.com/rillmq/rill/replication/node"
)

// ACLSink receives the image's ACLs (an authorizer): each ACL the image
// gains, and each it loses, once, in the publisher's goroutine. A
// restarted broker's sink starts empty and gets every ACL again.
type ACLSink interface {
	AddACL(id controller.ACLID, b controller.ACLBinding) error
	RemoveACL(id controller.ACLID) error
}

// security is the runtime's applied security metadata.
type security struct {
	// fed is what the sink holds, at is the metadata index it was synced
	// at (synced false: never); the publisher owns them.
	fed    map[controller.ACLID]controller.ACLBinding
	at     uint64
	synced bool
	// scram are the credentials lookups answer from; applied is the index
	// (at least) of the image the last sync read.
	scram   atomic.Pointer[map[controller.ScramKey]controller.ScramCredential]
	applied atomic.Uint64
}

// syncSecurity brings the ACL sink and the SCRAM credentials to the
// image; the publisher calls it on each pass. The image is read only when
// its index moved.
func (r *Runtime) syncSecurity() {
	s := &r.security
	index := r.source.Applied() // before the view: the image is at least this new
	if s.synced && index == s.at {
		return
	}
	if s.fed == nil {
		s.fed = map[controller.ACLID]controller.ACLBinding{}
	}
	var add []controller.ACL
	var remove []controller.ACLID
	scram := map[controller.ScramKey]controller.ScramCredential{}
	r.source.View(func(im *controller.Image) {
		for id, b := range im.ACLs {
			if have, ok := s.fed[id]; !ok || have != b {
				add = append(add, controller.ACL{ID: id, Binding: b})
			}
		}
		for id, have := range s.fed {
			if b, ok := im.ACLs[id]; !ok || b != have {
				remove = append(remove, id)
			}
		}
		for user, creds := range im.Scram {
			for m, c := range creds { // records' credentials are never changed: shared
				scram[controller.ScramKey{User: user, Mechanism: m}] = c
			}
		}
	})
	byID := func(a, b controller.ACLID) int { return bytes.Compare(a[:], b[:]) }
	slices.SortFunc(remove, byID)
	slices.SortFunc(add, func(a, b controller.ACL) int { return byID(a.ID, b.ID) })
	sink := r.cfg.ACLs
	for _, id := range remove {
		if sink != nil {
			if err := sink.RemoveACL(id); err != nil {
				r.cfg.Logger.Warn("removing an acl from the authorizer failed", "acl", id, "err", err)
			}
		}
		delete(s.fed, id)
	}
	for _, a := range add {
		if sink != nil {
			if err := sink.AddACL(a.ID, a.Binding); err != nil {
				// Kept as fed: the metadata has it, and retrying each
				// pass would fail alike.
				r.cfg.Logger.Warn("the authorizer refuses an acl", "acl", a.ID, "err", err)
			}
		}
		s.fed[a.ID] = a.Binding
	}
	s.scram.Store(&scram)
	s.at, s.synced = index, true
	s.applied.Store(index)
}

// ScramCredential is a user's credential for a SCRAM mechanism (its SASL
// name, "SCRAM-SHA-256") in the metadata this broker has applied.
func (r *Runtime) ScramCredential(mechanism, user string) (controller.ScramCredential, bool) {
	creds := r.security.scram.Load()
	if creds == nil {
		return controller.ScramCredential{}, false
	}
	c, ok := (*creds)[controller.ScramKey{User: user, Mechanism: controller.ScramMechanismType(mechanism)}]
	return c, ok
}

// ScramCredentials are the SCRAM credentials this broker has applied, by
// user, each user's sorted by mechanism.
func (r *Runtime) ScramCredentials() map[string][]controller.ScramCredential {
	out := map[string][]controller.ScramCredential{}
	if creds := r.security.scram.Load(); creds != nil {
		for k, c := range *creds {
			out[k.User] = append(out[k.User], c)
		}
	}
	for _, cs := range out {
		slices.SortFunc(cs, func(a, b controller.ScramCredential) int { return int(a.Mechanism) - int(b.Mechanism) })
	}
	return out
}

// awaitApplied waits until this broker has synced its security metadata
// (applied: the index its last sync read, the security's or the quotas')
// from an image at the offset a controller answered resp with (none: no
// wait), or ctx ends: the change is committed either way.
func (r *Runtime) awaitApplied(ctx context.Context, resp kmsg.Response, applied *atomic.Uint64) {
	offset, ok := node.MetadataOffset(resp)
	if !ok {
		return
	}
	for {
		ch := r.passes.Wait()
		if applied.Load() >= offset {
			return
		}
		select {
		case <-ctx.Done():
			r.cfg.Logger.Warn("committed metadata not applied here before the request's deadline", "offset", offset)
			return
		case <-ch:
		}
	}
}

// CreateACLs asks the active controller to create ACLs and returns each
// one's outcome (nil: created, or equal to an ACL that exists; else a
// *node.Error with its Kafka code), once this broker has applied them.
// The error is the request's (no controller answered in time).
func (r *Runtime) CreateACLs(ctx context.Context, bindings []controller.ACLBinding) ([]error, error) {
	if len(bindings) == 0 {
		return nil, nil
	}
	req := kmsg.NewPtrCreateACLsRequest()
	for _, b := range bindings {
		c := kmsg.NewCreateACLsRequestCreation()
		c.ResourceType, c.ResourceName = kmsg.ACLResourceType(b.ResourceType), b.ResourceName
		c.ResourcePatternType = kmsg.ACLResourcePatternType(b.PatternType)
		c.Principal, c.Host = b.Principal, b.Host
		c.Operation, c.PermissionType = kmsg.ACLOperation(b.Operation), kmsg.ACLPermissionType(b.Permission)
		req.Creations = append(req.Creations, c)
	}
	resp, err := r.ask(ctx, req)
	if err != nil {
		return nil, err
	}
	results := resp.(*kmsg.CreateACLsResponse).Results
	if len(results) != len(bindings) {
		return nil, fmt.Errorf("broker: the controller answered %d results for %d acl creations", len(results), len(bindings))
	}
	errs := make([]error, len(results))
	for i, res := range results {
		errs[i] = node.AnswerError(res.ErrorCode, res.ErrorMessage)
	}
	r.awaitApplied(ctx, resp, &r.security.applied)
	return errs, nil
}

// DeleteACLs asks the active controller to delete the ACLs filters match
// and returns, per filter, those it matched or its error, once this
// broker has applied the deletion.
func (r *Runtime) DeleteACLs(ctx context.Context, filters []controller.ACLFilter) ([][]controller.ACLBinding, []error, error) {
	if len(filters) == 0 {
		return nil, nil, nil
	}
	req := kmsg.NewPtrDeleteACLsRequest()
	for _, f := range filters {
		rf := kmsg.NewDeleteACLsRequestFilter()
		rf.ResourceType, rf.ResourceName = kmsg.ACLResourceType(f.ResourceType), f.ResourceName
		rf.ResourcePatternType = kmsg.ACLResourcePatternType(f.PatternType)
		rf.Principal, rf.Host = f.Principal, f.Host
		rf.Operation, rf.PermissionType = kmsg.ACLOperation(f.Operation), kmsg.ACLPermissionType(f.Permission)
		req.Filters = append(req.Filters, rf)
	}
	resp, err := r.ask(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	results := resp.(*kmsg.DeleteACLsResponse).Results
	if len(results) != len(filters) {
		return nil, nil, fmt.Errorf("broker: the controller answered %d results for %d acl filters", len(results), len(filters))
	}
	matched := make([][]controller.ACLBinding, len(results))
	errs := make([]error, len(results))
	for i, res := range results {
		if errs[i] = node.AnswerError(res.ErrorCode, res.ErrorMessage); errs[i] != nil {
			continue
		}
		for _, m := range res.MatchingACLs {
			matched[i] = append(matched[i], controller.ACLBinding{ResourceType: int8(m.ResourceType), ResourceName: m.ResourceName,
				PatternType: int8(m.ResourcePatternType), Principal: m.Principal, Host: m.Host, Operation: int8(m.Operation),
				Permission: int8(m.PermissionType)})
		}
	}
	r.awaitApplied(ctx, resp, &r.security.applied)
	return matched, errs, nil
}

// AlterScramCredentials asks the active controller to delete and upsert
// SCRAM credentials and returns each user's outcome (Err a *node.Error
// with its Kafka code), once this broker has applied them.
func (r *Runtime) AlterScramCredentials(ctx context.Context, deletions []controller.ScramDeletion, upsertions []controller.ScramUpsertion) ([]controller.ScramResult, error) {
	if len(deletions)+len(upsertions) == 0 {
		return nil, nil
	}
	req := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
	for _, d := range deletions {
		rd := kmsg.NewAlterUserSCRAMCredentialsRequestDeletion()
		rd.Name, rd.Mechanism = d.User, d.Mechanism
		req.Deletions = append(req.Deletions, rd)
	}
	for _, u := range upsertions {
		ru := kmsg.NewAlterUserSCRAMCredentialsRequestUpsertion()
		ru.Name, ru.Mechanism, ru.Iterations, ru.Salt, ru.SaltedPassword = u.User, u.Mechanism, u.Iterations, u.Salt, u.SaltedPassword
		req.Upsertions = append(req.Upsertions, ru)
	}
	resp, err := r.ask(ctx, req)
	if err != nil {
		return nil, err
	}
	var out []controller.ScramResult
	for _, res := range resp.(*kmsg.AlterUserSCRAMCredentialsResponse).Results {
		out = append(out, controller.ScramResult{User: res.User, Err: node.AnswerError(res.ErrorCode, res.ErrorMessage)})
	}
	r.awaitApplied(ctx, resp, &r.security.applied)
	return out, nil
}

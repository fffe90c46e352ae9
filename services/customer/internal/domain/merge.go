package domain

import (
	"slices"
	"time"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

// Merge folds merged into survivor and returns both after the merge: the
// survivor gains merged's contacts (as other emails and phones), tags,
// addresses, the attributes and birthday it lacks, and the later consent
// answer per channel; merged becomes a pointer to the survivor. The
// survivor's own values win where both have one.
func Merge(survivor, merged Customer, defs Definitions, now time.Time) (Customer, Customer, error) {
	if survivor.ID == merged.ID {
		return Customer{}, Customer{}, validation.Violations{{Field: "merged_customer_id", Description: "must differ from survivor_customer_id"}}.Err()
	}
	for _, c := range []Customer{survivor, merged} {
		if err := c.checkWritable(); err != nil {
			return Customer{}, Customer{}, err
		}
	}
	p := survivor.Profile.clone()
	m := merged.Profile.clone()
	p.OtherEmails = append(p.OtherEmails, m.Email)
	p.OtherEmails = append(p.OtherEmails, m.OtherEmails...)
	p.OtherPhones = append(p.OtherPhones, m.Phone)
	p.OtherPhones = append(p.OtherPhones, m.OtherPhones...)
	if p.Email == "" && len(p.OtherEmails) > 0 {
		p.Email = p.OtherEmails[0]
	}
	if p.Phone == "" && len(p.OtherPhones) > 0 {
		p.Phone = p.OtherPhones[0]
	}
	p.Tags = append(p.Tags, m.Tags...)
	for _, a := range m.Addresses {
		if !slices.ContainsFunc(p.Addresses, func(x Address) bool { return sameAddress(x, a) }) {
			p.Addresses = append(p.Addresses, a)
		}
	}
	if p.Birthday == nil {
		p.Birthday = m.Birthday
	}
	for name, v := range m.Attributes {
		if _, ok := p.Attributes[name]; !ok {
			if p.Attributes == nil {
				p.Attributes = map[string]AttributeValue{}
			}
			p.Attributes[name] = v
		}
	}
	if p.Locale == "" {
		p.Locale = m.Locale
	}
	if p.TimeZone == "" {
		p.TimeZone = m.TimeZone
	}
	// The external id moves with the customer that held it, so the source
	// system's id keeps finding the survivor.
	if p.ExternalID == "" {
		p.ExternalID = m.ExternalID
	}
	norm, err := p.Normalize(defs)
	if err != nil {
		return Customer{}, Customer{}, err
	}
	out := survivor.touch(now)
	out.Profile = norm
	out.Consents = mergeConsents(survivor.Consents, merged.Consents)
	out.MergedIDs = append(slices.Clone(survivor.MergedIDs), merged.ID)
	out.MergedIDs = append(out.MergedIDs, merged.MergedIDs...)
	out.PossibleDuplicate = false

	// The merged row keeps only what resolving its id needs: everything
	// else now lives on the survivor, and erasing the survivor must leave
	// no copy behind.
	gone := Customer{ID: merged.ID, Profile: Profile{Type: merged.Type, Kind: merged.Kind, Stage: merged.Stage},
		State: StateMerged, MergedInto: survivor.ID, CreateTime: merged.CreateTime, UpdateTime: now,
		Version: merged.Version + 1}
	return out, gone, nil
}

func sameAddress(a, b Address) bool {
	return a.CountryCode == b.CountryCode && a.Region == b.Region && a.City == b.City &&
		a.District == b.District && slices.Equal(a.Lines, b.Lines) && a.PostalCode == b.PostalCode
}
